"""Checks answers the console really gave against the schemas its OpenAPI document declares for
them (tests/openapi.rs), with the jsonschema library the validator brings (Draft 2020-12: the
dialect of OpenAPI 3.1's schemas).

argv[1]: the document's file. stdin: [{"label", "pointer", "instance"}], each pointer a JSON
pointer into the document at a schema. stdout: {"problems": ["<label>: <error>", ...]}.
"""

import json
import sys
from urllib.parse import quote

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

DOC_URI = "urn:handoff-console:openapi"


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        document = json.load(f)
    registry = Registry().with_resource(
        DOC_URI, Resource.from_contents(document, default_specification=DRAFT202012)
    )
    problems = []
    for check in json.load(sys.stdin):
        schema = {"$ref": f"{DOC_URI}#{quote(check['pointer'], safe='/~')}"}
        validator = jsonschema.Draft202012Validator(schema, registry=registry)
        for error in validator.iter_errors(check["instance"]):
            at = "/".join(str(p) for p in error.absolute_path)
            problems.append(f"{check['label']}: at /{at}: {error.message}")
    json.dump({"problems": problems}, sys.stdout)


if __name__ == "__main__":
    main()
