"""Survey stage: the annual form export and the personnel office's files -> the year's processed tables.

Owns: ingest (read the export, validate rows into rejects, resolve resubmissions and routes, carry route-A
answers over from last year, join attendance days, save the year's tables all or nothing) and attitudes (code
the attitude answers, free text by data/reference/survey/synonyms.yaml, and count them).
May import helpers.config, helpers.reference, helpers.privacy, helpers.schemas, helpers.rejects and
helpers.inventory.roster (the roster is read with the survey); never helpers.publish or the notebooks.
"""
