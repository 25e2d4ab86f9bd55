"""Survey stage: the annual form export and the personnel office's files -> the year's processed tables.

Owns: ingest (load the export, validate rows into rejects, resubmissions and routes, commutes, carry route-A
answers over from last year, join attendance days, build and check the tables, save the year all or nothing)
and attitudes (code the attitude answers, free text by
data/reference/survey/synonyms.yaml, and count them).
May import helpers.config, helpers.reference, helpers.privacy, helpers.schemas and helpers.inventory.roster (the
roster is read with the survey); never helpers.publish, helpers.synthetic or the notebooks.
"""
