"""``voxweb serve --workers N``: N HTTP processes on one port, one scene.

The first process (the one ``voxweb serve`` started) binds the port, holds the scene and
answers its own share of connections; it starts N-1 worker processes that accept on the same
socket, answer ``/dicom`` and static files from the shared database and storage, and pass
every other request to it over a private Unix socket (``voxweb/http/forward.py``). Modules:
``switches`` (the API switches all processes see), ``pool`` (starting, restarting and stopping
workers), ``worker`` (a worker process's main), ``tag`` (the ``X-Voxweb-Worker`` header).
"""
