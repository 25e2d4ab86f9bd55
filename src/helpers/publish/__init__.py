"""Publish stage: run a year's notebooks and publish what they show, for reviewers and other systems.

Owns: preflight (the checks before any kernel starts), runguard (one run at a time; processed tables and report
published together), warnings_log (the run's quality warnings), runner (papermill execution of notebooks/NN_*.ipynb,
the staging folder swapped in whole, failures named by notebook and cell, the writers called after the notebooks),
pages (executed notebook -> HTML, the index pages; style sheets and page shell in publish/templates/), tables and
plots (the one table formatter and the chart style), summary (a year's results computed once; summary.json),
manifest (manifest.json), workbook (reports/<year>/inventory.xlsx), method (METHOD.html from docs/METHOD.md) and
travel_tables (the business-travel report tables).
May import every stage below it: helpers.survey, helpers.inventory, helpers.business_travel, helpers.reference,
helpers.privacy, helpers.schemas, helpers.config. Nothing below imports publish.
"""
