"""Croissant 1.0 JSON-LD for a release directory (https://mlcommons.org/croissant).

One ``cr:FileObject`` per Parquet shard (with its SHA-256), one ``cr:FileSet`` per config/split
(``includes`` = the shard glob, relative to the release directory, so mlcroissant reads the records locally) and one ``cr:RecordSet`` per
config/split whose fields extract the Parquet columns. Deterministic: same manifest -> same bytes.
"""

from __future__ import annotations

import json

CONTEXT = {
    "@language": "en", "@vocab": "https://schema.org/", "citeAs": "cr:citeAs", "column": "cr:column",
    "conformsTo": "dct:conformsTo", "cr": "http://mlcommons.org/croissant/", "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"}, "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/", "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"}, "extract": "cr:extract", "field": "cr:field",
    "fileProperty": "cr:fileProperty", "fileObject": "cr:fileObject", "fileSet": "cr:fileSet", "format": "cr:format",
    "includes": "cr:includes", "isLiveDataset": "cr:isLiveDataset", "jsonPath": "cr:jsonPath", "key": "cr:key",
    "md5": "cr:md5", "parentField": "cr:parentField", "path": "cr:path", "recordSet": "cr:recordSet",
    "references": "cr:references", "regex": "cr:regex", "repeated": "cr:repeated", "replace": "cr:replace",
    "samplingRate": "cr:samplingRate", "sc": "https://schema.org/", "separator": "cr:separator", "source": "cr:source",
    "subField": "cr:subField", "transform": "cr:transform",
}

# datasets feature dtype -> Croissant/schema.org data type
_TYPES = {"string": "sc:Text", "large_string": "sc:Text", "bool": "sc:Boolean", "float32": "sc:Float",
          "float64": "sc:Float", "float16": "sc:Float", "date32": "sc:Date", "timestamp[us]": "sc:DateTime"}


def _datatype(feature) -> tuple[str, bool]:
    """(data type, repeated) of a datasets feature dict (``Features.to_dict()`` form)."""
    kind = feature.get("_type")
    if kind in ("List", "Sequence", "LargeList"):
        inner, _ = _datatype(feature["feature"]) if isinstance(feature.get("feature"), dict) and "_type" in feature["feature"] \
            else ("sc:Text", False)
        return inner, True
    dtype = feature.get("dtype", "string")
    if dtype.startswith(("int", "uint")):
        return "sc:Integer", False
    return _TYPES.get(dtype, "sc:Text"), False


def croissant(*, name: str, description: str, version: str, licenses: list[str], url: str, date_published: str,
              cite_as: str, shards: list[dict], configs: list[dict]) -> dict:
    """``shards``: manifest entries of the Parquet files; ``configs``: [{name, splits: [split], features}]."""
    distribution = [{
        "@type": "cr:FileObject", "@id": s["path"], "name": s["path"], "contentUrl": s["path"],
        "contentSize": f"{s['bytes']} B", "encodingFormat": "application/x-parquet", "sha256": s["sha256"],
    } for s in shards]
    record_sets = []
    for cfg in configs:
        for split in cfg["splits"]:
            rs_id = f"{cfg['name']}_{split}"
            distribution.append({
                "@type": "cr:FileSet", "@id": f"{rs_id}_files", "name": f"{rs_id}_files",
                "encodingFormat": "application/x-parquet",
                "includes": f"data/{cfg['name']}/{split}-*.parquet",
            })
            fields = []
            for col, feat in cfg["features"].items():
                dtype, repeated = _datatype(feat)
                field = {"@type": "cr:Field", "@id": f"{rs_id}/{col}", "name": col, "dataType": dtype,
                         "source": {"fileSet": {"@id": f"{rs_id}_files"}, "extract": {"column": col}}}
                if repeated:
                    field["repeated"] = True
                fields.append(field)
            record_sets.append({"@type": "cr:RecordSet", "@id": rs_id, "name": rs_id,
                                "description": f"config {cfg['name']!r}, split {split!r}", "field": fields})
    return {
        "@context": CONTEXT, "@type": "sc:Dataset", "name": name, "description": description,
        "conformsTo": "http://mlcommons.org/croissant/1.0", "license": licenses if len(licenses) != 1 else licenses[0],
        "url": url, "version": version, "datePublished": date_published, "citeAs": cite_as,
        "distribution": distribution, "recordSet": record_sets,
    }


def croissant_text(doc: dict) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def validate_croissant(path) -> tuple[bool, str]:
    """(ok, message) from mlcroissant. mlcroissant missing is a failure: the gate must never pass a
    Croissant file nobody checked."""
    try:
        import mlcroissant as mlc
    except ImportError as exc:
        return False, (f"{path}: cannot validate Croissant: mlcroissant is not importable ({exc}); "
                       f"install the project's dependencies (make install)")
    try:
        ds = mlc.Dataset(jsonld=str(path))
    except Exception as exc:  # mlcroissant raises ValidationError and friends
        return False, f"{path}: {exc}"
    return True, f"{path}: valid Croissant ({len(ds.metadata.record_sets)} record sets)"
