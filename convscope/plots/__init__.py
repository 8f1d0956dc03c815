"""Matplotlib renderers: they display what `convscope.explain` and `convscope.data` compute."""
