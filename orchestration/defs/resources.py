"""Resources shared by several domains (one instance each: Definitions.merge requires it)."""

from dagster_dlt import DagsterDltResource

dlt_resource = DagsterDltResource()
