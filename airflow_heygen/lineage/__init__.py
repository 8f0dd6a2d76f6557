"""
OpenLineage for the HeyGen operators and sensors: what each task read and made, as datasets, and a
``heygenJob`` run facet with the job's ids, statuses, output seconds and costs. See ``docs/lineage.md``.

Nothing here imports OpenLineage at module level: without ``apache-airflow-providers-openlineage``
(the ``openlineage`` extra) the operators import nothing more and parse as fast as before; the
listener calls ``get_openlineage_facets_on_complete`` / ``_on_failure`` only when it is installed.
"""
