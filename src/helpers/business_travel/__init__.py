"""Business travel (Scope 3 category 6): expense claims and long trips -> rides with distances and kgCO2e.

Owns: schemas (codes, labels, the processed tables' contracts), reference (the reference tables, loaded and
checked), distances (taxi tariff, fare rules, great circle), export (reading and checking the exports),
claims (short trips -> rides -> kgCO2e, the processed tables and the year's summary) and long_trips.
May import helpers.inventory.factors (the year's factor set), helpers.survey.ingest (the CSV reader),
helpers.reference, helpers.privacy, helpers.schemas, helpers.config; never helpers.publish. Its report tables
are helpers.publish.travel_tables; its synthetic sample is helpers.synthetic.travel_sample.
"""
