"""Asset keys and groups for dbt nodes: `<layer>/<name>`, grouped by the model's folder."""
from __future__ import annotations

from typing import Any, Mapping

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings


class FoilTranslator(DagsterDbtTranslator):
    def __init__(self):
        super().__init__(settings=DagsterDbtTranslatorSettings(enable_code_references=False, enable_source_tests_as_checks=True))

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        node = manifest.get("nodes", {}).get(unique_id) or manifest.get("sources", {}).get(unique_id) or {}
        resource_type = node.get("resource_type")
        if resource_type == "model":
            layer = node["fqn"][1] if len(node["fqn"]) > 2 else "models"
            return spec.replace_attributes(key=dg.AssetKey([layer, node["name"]]), group_name=layer)
        if resource_type == "seed":
            return spec.replace_attributes(key=dg.AssetKey(["seeds", node["name"]]), group_name="reference")
        return spec
