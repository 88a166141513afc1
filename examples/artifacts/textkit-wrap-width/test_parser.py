"""Reads the log of test_script.sh on stdin and prints {"<file> > <suite> > <test>": status}."""
import json
import re
import sys
import xml.etree.ElementTree as ET


def walk(node, path, file, out):
    for child in node:
        if child.tag == "testsuite":
            walk(child, path + [child.get("name", "")], file, out)
        elif child.tag == "testcase":
            test_id = " > ".join([file] + path + [child.get("name", "")])
            if child.find("failure") is not None or child.find("error") is not None:
                out[test_id] = "failed"
            elif child.find("skipped") is not None:
                out[test_id] = "skipped"
            else:
                out[test_id] = "passed"


def main():
    log = sys.stdin.read()
    results = {}
    chunks = re.split(r"^### ssr-test-file (.+)$", log, flags=re.M)
    # chunks = [preamble, file1, body1, file2, body2, ...]
    for file, body in zip(chunks[1::2], chunks[2::2]):
        start = body.find("<testsuites")
        end = body.rfind("</testsuites>")
        if start < 0 or end < 0:
            continue  # the file crashed before reporting: its tests count as not passed
        try:
            root = ET.fromstring(body[start : end + len("</testsuites>")])
        except ET.ParseError:
            continue
        walk(root, [], file.strip(), results)
    json.dump(results, sys.stdout, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
