"""Bundled reference data of the models layer (the FoodData Central food table)."""
