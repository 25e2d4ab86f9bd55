"""The inventory over the years: staff in scope and non-response, extrapolation to all staff, off-year
roll-forward from a census, the year-on-year change explained, and bootstrap uncertainty.

Owns: roster (the personnel office's roster -> the `staff` table; response counts), extrapolate (all-staff
total), rollforward (a year estimated from a census year), panel (people linked across two years, transition
tables), decompose (additive decomposition of a change), uncertainty (bootstrap intervals), trend (several years).
Pure functions on DataFrames over the processed tables; I/O only in roster.read_roster (the raw roster file).
May import helpers.schemas, helpers.inventory.emissions, helpers.inventory.modeshare, helpers.reference, helpers.privacy,
helpers.config; never the report runner or the notebooks.
"""
