"""Rebuild the vendored schemas of this directory from the registry packages named in README.md.

Usage: python3 extract.py KUBERNETES_VALIDATE_SCHEMA_DIR GATEWAY_API_HTTPROUTE_JS

KUBERNETES_VALIDATE_SCHEMA_DIR is kubernetes_validate/kubernetes-json-schema/v1.37.0-local-strict
from the unpacked PyPI wheel kubernetes-validate 1.37.0; GATEWAY_API_HTTPROUTE_JS is
package/gateway.networking.k8s.io/v1/HTTPRoute.js from the unpacked npm tarball
@kubernetes-models/gateway-api 0.5.1. Each output file is self-contained: the kind's schema plus
the transitive closure of the definitions it references, under `$defs`.
"""

import json
import re
import sys
from pathlib import Path

REF_PREFIX = "/api/_definitions.json#/$defs/"
OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"


def rewrite_refs(node, found):
    """Point every reference at the local `$defs` and collect the names referenced."""
    if isinstance(node, dict):
        reference = node.get("$ref")
        if isinstance(reference, str):
            if reference.startswith(REF_PREFIX):
                name = reference[len(REF_PREFIX):]
            elif reference.startswith("#/$defs/"):
                name = reference[len("#/$defs/"):]
            else:
                raise SystemExit(f"unexpected reference {reference}")
            node["$ref"] = "#/$defs/" + name
            found.add(name)
        for value in node.values():
            rewrite_refs(value, found)
    elif isinstance(node, list):
        for value in node:
            rewrite_refs(value, found)


def closure(root, definitions):
    """The definitions reachable from `root`, with their references rewritten."""
    pending = set()
    rewrite_refs(root, pending)
    collected = {}
    while pending:
        name = pending.pop()
        if name in collected:
            continue
        definition = json.loads(json.dumps(definitions[name]))
        found = set()
        rewrite_refs(definition, found)
        collected[name] = definition
        pending |= found - collected.keys()
    return dict(sorted(collected.items()))


def strict_objects(node):
    """Forbid unknown fields where an object lists its fields, as the API server's strict
    field validation does for structural schemas (and as kubernetes-json-schema's -strict
    variants do for built-in kinds)."""
    if isinstance(node, dict):
        preserves = node.get("x-kubernetes-preserve-unknown-fields") is True
        if "properties" in node and "additionalProperties" not in node and not preserves:
            node["additionalProperties"] = False
        for value in node.values():
            strict_objects(value)
    elif isinstance(node, list):
        for value in node:
            strict_objects(value)


def main():
    schema_dir = Path(sys.argv[1])
    httproute_js = Path(sys.argv[2])
    out = Path(__file__).parent
    definitions = json.loads((schema_dir / "_definitions.json").read_text())["$defs"]

    for file_name in ["deployment-apps-v1.json", "service-v1.json"]:
        schema = json.loads((schema_dir / file_name).read_text())
        schema.pop("$id", None)
        schema["$defs"] = closure(schema, definitions)
        (out / file_name).write_text(json.dumps(schema, indent=1, sort_keys=True) + "\n")

    source = httproute_js.read_text()
    match = re.search(r"^const schema = (\{.*?^\});$", source, re.MULTILINE | re.DOTALL)
    if match is None:
        raise SystemExit("no `const schema = {...};` in the HTTPRoute module")
    schema = json.loads(match.group(1))
    meta = schema["properties"]["metadata"]
    if meta != {"oneOf": [{"$ref": "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta#"}, {"type": "null"}]}:
        raise SystemExit(f"unexpected metadata schema {meta}")
    strict_objects(schema)
    schema["properties"]["metadata"] = {"$ref": "#/$defs/" + OBJECT_META}
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$defs"] = closure(schema, definitions)
    (out / "httproute-gateway-v1.json").write_text(json.dumps(schema, indent=1, sort_keys=True) + "\n")


main()
