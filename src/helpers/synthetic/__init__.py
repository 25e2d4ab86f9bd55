"""Synthetic data: the bundled sample (tuned to the study's published figures) and the scale benchmark.

Owns: sample (writes data/raw/sample: survey exports, attendance/roster), travel_sample (the business-travel
claims of the sample, reproducing the pilot) and bench (`make bench`: generated staffs of any size in the real
raw formats, timed through the stages and the full annual run).
Tooling on top of the product: may import any helpers module; nothing in the product imports synthetic.
"""
