"""The HTTP edge: thin adapters from requests to the layers below, and back."""
