"""Publishing a year's results: what leaves the pipeline for people and for other systems.

Owns the organisation's inventory workbook (workbook: reports/<year>/inventory.xlsx) and the method page
(method: reports/<year>/METHOD.html, rendered from docs/METHOD.md, linked from every report page). It reads
processed tables through helpers.publish.summary / helpers.business_travel and the executed notebooks of the run; it may import any
computing module (emissions, factors, business_travel, summary, tables) but nothing imports it except the runner.
"""
