"""Outlines for the page's map, simplified for drawing: drawn offline, no tiles."""

from __future__ import annotations

import json
from importlib import resources

import msgspec
from shapely.geometry import mapping, shape

# (file, property holding the code, layer name), drawn in this order.
LAYERS = (
    ("countries_east_asia.geojson", "iso_a3", "country"),
    ("korea_provinces.geojson", "code", "region"),
    ("japan_prefectures.geojson", "code", "region"),
)
TOLERANCE_DEG = 0.01  # about 1 km: invisible at the page's scale, a tenth of the bytes


def simplified_regions() -> bytes:
    data_dir = resources.files("meshwarn") / "data"
    features = []
    for filename, code_key, layer in LAYERS:
        collection = json.loads((data_dir / filename).read_text(encoding="utf-8"))
        for feature in collection["features"]:
            props = feature["properties"]
            geometry = shape(feature["geometry"]).simplify(TOLERANCE_DEG, preserve_topology=True)
            if geometry.is_empty:
                continue
            features.append(
                {
                    "type": "Feature",
                    "properties": {
                        "code": props.get(code_key),
                        "name": props.get("name"),
                        "country": props.get("country", props.get("iso_a3")),
                        "layer": layer,
                    },
                    "geometry": _rounded(mapping(geometry)),
                }
            )
    return msgspec.json.encode({"type": "FeatureCollection", "features": features})


def _rounded(geometry: dict) -> dict:
    def walk(coords):  # type: ignore[no-untyped-def]
        if isinstance(coords[0], (int, float)):
            return [round(coords[0], 3), round(coords[1], 3)]
        return [walk(c) for c in coords]

    return {"type": geometry["type"], "coordinates": walk(geometry["coordinates"])}
