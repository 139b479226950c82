"""The revisions, oldest first by ``down_revision`` (file names are for people)."""
