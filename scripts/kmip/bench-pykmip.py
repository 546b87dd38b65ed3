#!/usr/bin/python3
# bench-pykmip.py: Get operations per second with PyKMIP's own client
# (kmip.pie.client.ProxyKmipClient, one connection), for comparison with
# our C client's figure (test_kmip_client's get_throughput case).
#
#   . DIR/env   (from scripts/kmip-test-server start DIR)
#   scripts/kmip/bench-pykmip.py [COUNT]      (default 1000)
import os
import sys
import time

from kmip import enums
from kmip.pie.client import ProxyKmipClient


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    env = os.environ
    client = ProxyKmipClient(
        hostname=env["KMIP_HOST"], port=int(env["KMIP_PORT"]),
        cert=env["KMIP_CERT"], key=env["KMIP_KEY"], ca=env["KMIP_CA"],
        config_file="/dev/null", kmip_version=enums.KMIPVersion.KMIP_1_4)
    with client:
        uid = client.create(
            enums.CryptographicAlgorithm.AES, 256, name="pykmip-bench",
            cryptographic_usage_mask=[
                enums.CryptographicUsageMask.ENCRYPT,
                enums.CryptographicUsageMask.DECRYPT])
        client.get(uid)
        t0 = time.monotonic()
        for _ in range(n):
            key = client.get(uid)
            if len(key.value) != 32:
                sys.exit("unexpected key length %d" % len(key.value))
        dt = time.monotonic() - t0
    print("pykmip benchmark: %d Gets of a 256-bit key in %.0f ms over one "
          "connection: %.0f Get/s" % (n, dt * 1000, n / dt))


if __name__ == "__main__":
    main()
