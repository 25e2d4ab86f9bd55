"""Inventory stage: a year's emissions and mode shares, and the inventory over the years.

Owns: factors (a year's factor set derived from its inputs), emissions (per leg, per person, totals and
intensities), modeshare (leg and main-mode shares), roster (the personnel office's roster -> the `staff` table;
response counts), extrapolate (all-staff total), rollforward (a year estimated from a census), panel (people linked
across years, transitions), decompose (a change explained), uncertainty (bootstrap intervals), trend (several
years). Pure functions on DataFrames over the processed tables; I/O only where a module reads reference or raw files
(factors, roster.read_roster).
May import helpers.survey (the processed tables' loader), helpers.schemas, helpers.reference, helpers.privacy,
helpers.config; never helpers.publish, helpers.synthetic or the notebooks.
"""
