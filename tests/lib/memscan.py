#!/usr/bin/env python3
"""memscan.py [--skip-main-stack] PID NEEDLE...: how often secrets occur in a
live process.

Reads every private writable mapping of PID (heap, stacks, anonymous
memory; as root, through /proc/PID/mem) and prints the number of times
any NEEDLE occurs in it, freed memory included. A NEEDLE is text, or
hex bytes as "hex:00ff...". --skip-main-stack leaves out the main
thread's stack, where libraries we hand secrets to (tpm2-tss, OpenSSL)
leave copies in their frames until later calls reuse that stack; what
it measures is then memory that nothing overwrites on its own: the heap,
freed chunks, library buffers. Mappings larger than 1 GiB are skipped:
those are sanitizer shadow and reserve regions, never heap chunks, and
reading them would fault in terabytes of zero pages.

Exit status 0 when the scan ran (whatever the count), 2 when it could
not read the process.
"""
import sys

LIMIT = 1 << 30


def needles(args):
    out = []
    for a in args:
        out.append(bytes.fromhex(a[4:]) if a.startswith("hex:") else a.encode())
    return out


def main():
    args = sys.argv[1:]
    skip_stack = bool(args) and args[0] == "--skip-main-stack"
    if skip_stack:
        args = args[1:]
    if len(args) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    pid, wanted = args[0], needles(args[1:])
    hits = scanned = 0
    try:
        with open(f"/proc/{pid}/maps") as maps, \
                open(f"/proc/{pid}/mem", "rb", 0) as mem:
            for line in maps:
                addr, perms = line.split()[:2]
                lo, hi = (int(x, 16) for x in addr.split("-"))
                if not perms.startswith("rw") or perms[3] != "p" or \
                        hi - lo > LIMIT or \
                        (skip_stack and line.rstrip().endswith("[stack]")):
                    continue
                try:
                    mem.seek(lo)
                    buf = mem.read(hi - lo)
                except OSError:
                    continue
                scanned += len(buf)
                hits += sum(buf.count(n) for n in wanted)
    except OSError as e:
        print(f"memscan: cannot read process {pid}: {e}", file=sys.stderr)
        return 2
    if not scanned:
        print(f"memscan: nothing readable in process {pid}", file=sys.stderr)
        return 2
    print(hits)
    return 0


if __name__ == "__main__":
    sys.exit(main())
