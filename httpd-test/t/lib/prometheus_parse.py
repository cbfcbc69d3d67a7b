#!/usr/bin/python3
# Reads a Prometheus text exposition on stdin and parses it with prometheus_client's own parser
# (Debian's python3-prometheus-client, installed by scripts/setup): the reference a Prometheus
# user's tooling agrees with, not a second reading of mod_tofu's code. Prints one line per family
# ("TYPE<tab>name<tab>type") and per sample ("SAMPLE<tab>name<tab>k=v,k=v<tab>value", labels
# sorted); exits 1 with the parser's complaint on stderr when the text does not parse.
import sys

from prometheus_client.parser import text_string_to_metric_families

try:
    for family in text_string_to_metric_families(sys.stdin.read()):
        print(f"TYPE\t{family.name}\t{family.type}")
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            print(f"SAMPLE\t{sample.name}\t{labels}\t{sample.value!r}")
except Exception as e:  # the parser raises ValueError and others on bad input
    print(f"prometheus_client could not parse the exposition: {e!r}", file=sys.stderr)
    sys.exit(1)
