"""Compares openapi/clouddc.yaml with the official Python SDK, huaweicloudsdkclouddc.

Run by `cargo xtask vendor`: the spec arrives on stdin as JSON (the drift
snapshot's canonical form), the allow-list path is the first argument. For every
operation of the spec it reads the SDK's `_<operation>_http_info` (method, path,
query and header parameters, body, response headers) and its request and
response model classes (`openapi_types`, `attribute_map`, enum constants), and
prints every difference. A difference in the allow-list (by exact text, `*`
matching any run of characters) is accepted with its reason; any other, or an allow-list entry
that no longer matches anything, fails.

Before the real comparison it checks itself: a copy of the spec with one field's
type changed must produce a difference, so the oracle is known to be able to fail.
"""

import copy
import importlib.metadata
import json
import re
import sys

from huaweicloudsdkclouddc.v1 import model as models
from huaweicloudsdkclouddc.v1.clouddc_client import CloudDCClient

PRIMITIVES = {"str", "int", "float", "bool", "datetime", "date", "object", "file"}


def snake(name):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class Spec:
    def __init__(self, document):
        self.doc = document
        self.used = set()

    def resolve(self, node):
        """Follows `$ref`s, noting the schemas reached."""
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            parts = ref.lstrip("#/").split("/")
            if parts[:2] == ["components", "schemas"]:
                self.used.add(parts[2])
            target = self.doc
            for part in parts:
                target = target[part]
            node = target
        return node

    def type_name(self, schema):
        """The SDK's spelling of a primitive schema's type."""
        schema = self.resolve(schema)
        if "oneOf" in schema:
            return "oneOf[" + ",".join(self.type_name(s) for s in schema["oneOf"]) + "]"
        kind = schema.get("type")
        if kind == "string":
            if schema.get("format") == "binary":
                return "file"
            if schema.get("format") == "date-time":
                return "datetime"
            return "str"
        if kind == "array":
            return "list[" + self.type_name(schema.get("items", {})) + "]"
        return {"integer": "int", "number": "float", "boolean": "bool", "object": "object"}.get(
            kind, str(kind)
        )


def sdk_class(name):
    return getattr(models, name, None)


def enum_values(cls):
    """An enum class's constants (`OK = "OK"`, `_0 = 0`)."""
    return sorted(
        (
            v
            for k, v in vars(cls).items()
            if re.fullmatch(r"_?[A-Z0-9][A-Z0-9_]*", k) and isinstance(v, (str, int))
        ),
        key=str,
    )


def compare(spec, where, ours, theirs, diffs):
    """Compares schema `ours` with the SDK type `theirs` (a type string)."""
    ours = spec.resolve(ours)
    if theirs.startswith("list["):
        if ours.get("type") != "array":
            diffs.append(f"{where}: type spec={spec.type_name(ours)} SDK={theirs}")
            return
        compare(spec, where + "[]", ours.get("items", {}), theirs[5:-1], diffs)
        return
    if theirs in PRIMITIVES:
        mine = spec.type_name(ours)
        if mine != theirs:
            diffs.append(f"{where}: type spec={mine} SDK={theirs}")
        return
    cls = sdk_class(theirs)
    if cls is None:
        diffs.append(f"{where}: SDK type {theirs} is not in the package")
        return
    if cls.openapi_types:
        compare_fields(spec, where, ours, cls, set(), diffs)
        return
    values = enum_values(cls)
    base = "int" if values and all(isinstance(v, int) for v in values) else "str"
    mine = spec.type_name(ours)
    if mine != base:
        diffs.append(f"{where}: type spec={mine} SDK={base} (enum {theirs})")
    elif sorted(ours.get("enum", []), key=str) != values:
        diffs.append(f"{where}: enum spec={ours.get('enum')} SDK={values}")


def compare_fields(spec, where, ours, cls, skip, diffs):
    """Compares an object schema with a model class, field by wire name."""
    ours = spec.resolve(ours)
    if ours.get("type") != "object":
        diffs.append(f"{where}: type spec={spec.type_name(ours)} SDK={cls.__name__}")
        return
    theirs = {
        cls.attribute_map[attr]: kind
        for attr, kind in cls.openapi_types.items()
        if cls.attribute_map[attr] not in skip
    }
    mine = ours.get("properties", {})
    for name in sorted(set(theirs) - set(mine)):
        diffs.append(f"{where}.{name}: in the SDK, not in the spec")
    for name in sorted(set(mine) - set(theirs)):
        diffs.append(f"{where}.{name}: in the spec, not in the SDK")
    for name in sorted(set(mine) & set(theirs)):
        compare(spec, f"{where}.{name}", mine[name], theirs[name], diffs)


def operations(spec):
    for path, item in spec.doc.get("paths", {}).items():
        shared = item.get("parameters", [])
        for method, op in item.items():
            if method in ("get", "post", "put", "delete", "patch", "head"):
                yield path, method.upper(), op, shared + op.get("parameters", [])


def compare_operation(spec, path, method, op, params, diffs):
    name = op["operationId"]
    info_of = getattr(CloudDCClient, f"_{snake(name)}_http_info", None)
    request_cls = sdk_class(name + "Request")
    response_cls = sdk_class(name + "Response")
    if info_of is None or request_cls is None or response_cls is None:
        diffs.append(f"{name}: not an operation of the SDK")
        return
    info = info_of(request_cls())
    if info["method"] != method:
        diffs.append(f"{name}: method spec={method} SDK={info['method']}")
    if info["resource_path"] != path:
        diffs.append(f"{name}: path spec={path} SDK={info['resource_path']}")

    # The SDK's parameters: the path template's, then the request model's.
    wire = {request_cls.attribute_map[a]: t for a, t in request_cls.openapi_types.items()}
    theirs = {("path", p): wire.get(p, "str") for p in re.findall(r"{(\w+)}", info["resource_path"])}
    for q, _ in info["query_params"]:
        theirs[("query", q)] = wire.get(q, "str")
    for h in info["header_params"]:
        if h != "Content-Type":
            theirs[("header", h)] = wire.get(h, "str")
    mine = {}
    for param in params:
        param = spec.resolve(param)
        mine[(param["in"], param["name"])] = param.get("schema", {})
    for key in sorted(set(theirs) - set(mine)):
        diffs.append(f"{name}: {key[0]} parameter {key[1]}: in the SDK, not in the spec")
    for key in sorted(set(mine) - set(theirs)):
        diffs.append(f"{name}: {key[0]} parameter {key[1]}: in the spec, not in the SDK")
    for key in sorted(set(mine) & set(theirs)):
        compare(spec, f"{name}: {key[0]} parameter {key[1]}", mine[key], theirs[key], diffs)

    sdk_body = "body" in request_cls.openapi_types
    spec_body = "requestBody" in op
    if sdk_body != spec_body:
        side = "the spec" if spec_body else "the SDK"
        diffs.append(f"{name}: request body only in {side}")

    codes = sorted(c for c in op.get("responses", {}) if c.startswith("2"))
    if not codes:
        diffs.append(f"{name}: no success response in the spec")
        return
    response = spec.resolve(op["responses"][codes[0]])
    sdk_headers = list(info.get("response_headers", []))
    mine_headers = list(response.get("headers", {}))
    lower = lambda names: {h.lower() for h in names}
    for header in sdk_headers:
        if header.lower() not in lower(mine_headers):
            diffs.append(f"{name}: response header {header}: in the SDK, not in the spec")
    for header in mine_headers:
        if header.lower() not in lower(sdk_headers):
            diffs.append(f"{name}: response header {header}: in the spec, not in the SDK")
    content = response.get("content", {})
    body_fields = [
        a for a in response_cls.openapi_types if response_cls.attribute_map[a] not in sdk_headers
    ]
    if "application/json" in content:
        compare_fields(
            spec, f"{name}: response", content["application/json"]["schema"], response_cls,
            set(sdk_headers), diffs,
        )
    elif body_fields:
        diffs.append(f"{name}: response: the SDK decodes a JSON body, the spec has none")


def differences(document):
    spec = Spec(document)
    diffs = []
    for path, method, op, params in operations(spec):
        compare_operation(spec, path, method, op, params, diffs)
    for schema in sorted(set(document.get("components", {}).get("schemas", {})) - spec.used):
        diffs.append(f"schema {schema}: compared with nothing in the SDK")
    return diffs


def self_test(document):
    """A field's type changed in a copy must show as a difference."""
    broken = copy.deepcopy(document)
    broken["components"]["schemas"]["PhysicalServer"]["properties"]["name"] = {"type": "integer"}
    before, after = set(differences(document)), set(differences(broken))
    introduced = sorted(after - before)
    if not any("name: type spec=int SDK=str" in d for d in introduced):
        sys.exit(f"vendor: self-test failed: a wrong field type went unnoticed ({introduced})")
    return introduced


def matches(pattern, diff):
    """Whether an allow-list entry covers `diff`: exact text, `*` for any run."""
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, diff) is not None


def main():
    allow_path = sys.argv[1]
    document = json.load(sys.stdin)
    with open(allow_path, encoding="utf-8") as f:
        allowed = json.load(f)["allowed"]
    introduced = self_test(document)
    print(f"self-test: a wrong field type in a copy of the spec is caught: {introduced[0]}")
    version = importlib.metadata.version("huaweicloudsdkclouddc")
    print(f"comparing the spec with huaweicloudsdkclouddc {version}")
    diffs = differences(document)
    unexpected, used = [], set()
    for diff in diffs:
        match = next((i for i, e in enumerate(allowed) if matches(e["difference"], diff)), None)
        if match is None:
            unexpected.append(diff)
            print(f"  DIFFERENT  {diff}")
        else:
            used.add(match)
            print(f"  allowed    {diff}\n             ({allowed[match]['reason']})")
    stale = [e["difference"] for i, e in enumerate(allowed) if i not in used]
    for entry in stale:
        print(f"  STALE      allow-list entry matches nothing: {entry}")
    if unexpected or stale:
        sys.exit(
            f"vendor: {len(unexpected)} unexpected difference(s), {len(stale)} stale allow-list "
            f"entr(ies); fix the spec or add each to {allow_path} with its reason"
        )
    print(f"vendor: {len(diffs)} difference(s), all in the allow-list")


if __name__ == "__main__":
    main()
