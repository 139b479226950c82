"""Slicer's scripting vocabulary for exec snippets, as adapters over voxweb's own API."""
