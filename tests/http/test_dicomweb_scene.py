"""Scene integration: /slicer/accessDICOMwebStudy between two voxweb servers, slicer:// links.

Server A holds a study (stored over STOW-RS); server B imports it over WADO-RS with A's
token (B needs --allow-url-fetch --allow-private-urls for a loopback peer) and loads it.
"""

from __future__ import annotations

import json

import numpy as np
import requests

from tests.http.dicomweb_support import multipart_body, synthetic_series, uids
from voxweb.dicom.export import volume_to_part10


def test_access_dicomweb_study_between_two_servers(voxweb):
    source = voxweb()
    target = voxweb("--allow-url-fetch", "--allow-private-urls")
    parts = synthetic_series(5, 12, series_description="Imported")
    body, ctype = multipart_body(parts)
    auth_a = {"Authorization": f"Bearer {source.token}"}
    assert (
        requests.post(
            f"{source.url}/dicom/studies", data=body, headers={**auth_a, "Content-Type": ctype}
        ).status_code
        == 200
    )
    study = uids(parts[0])[0]
    auth_b = {"Authorization": f"Bearer {target.token}"}
    request = {
        "dicomWEBPrefix": source.url,
        "dicomWEBStore": "dicom",
        "studyUID": study,
        "accessToken": source.token,
    }
    resp = requests.post(
        f"{target.url}/slicer/accessDICOMwebStudy", data=json.dumps(request), headers=auth_b
    )
    assert resp.status_code == 200, resp.text
    answer = resp.json()
    assert answer["success"] is True and answer["storedInstances"] == 5
    (node_id,) = answer["loadedNodeIDs"]
    volumes = requests.get(f"{target.url}/slicer/volumes", headers=auth_b).json()
    assert {"name": "1: Imported", "id": node_id} in volumes
    stored = requests.get(f"{target.url}/dicom/studies?StudyInstanceUID={study}", headers=auth_b)
    assert len(stored.json()) == 1
    # without the token of A the import is refused by A (401) and reported
    request["accessToken"] = "wrong-token-wrong-token"
    again = requests.post(
        f"{target.url}/slicer/accessDICOMwebStudy", data=json.dumps(request), headers=auth_b
    )
    assert again.status_code == 500 and "401" in again.json()["message"]


def test_access_dicomweb_study_needs_url_fetch(voxweb):
    server = voxweb()
    auth = {"Authorization": f"Bearer {server.token}"}
    body = {"dicomWEBPrefix": "http://127.0.0.1:9", "dicomWEBStore": "dicom", "studyUID": "1.2"}
    resp = requests.post(
        f"{server.url}/slicer/accessDICOMwebStudy", data=json.dumps(body), headers=auth
    )
    assert resp.status_code == 403 and "allow-url-fetch" in resp.json()["message"]
    bad = requests.post(f"{server.url}/slicer/accessDICOMwebStudy", data=b"", headers=auth)
    assert bad.status_code == 500 and "studyUID" in bad.json()["message"]


def test_slicer_link_loads_a_local_study_with_its_geometry(voxweb):
    server = voxweb("--auth", "none")
    k, j, i = np.mgrid[0:4, 0:9, 0:8]
    vol = (k * 50 + j + i).astype(np.int16)
    m = np.diag([0.7, 0.7, 3.0, 1.0])
    m[:3, 3] = [10, -20, 30]
    parts = volume_to_part10(vol, m, series_description="Linked")
    body, ctype = multipart_body(parts)
    requests.post(f"{server.url}/dicom/studies", data=body, headers={"Content-Type": ctype})
    study = uids(parts[0])[0]
    link = f"slicer://viewer/?studyUID={study}&dicomweb_endpoint={server.url}/dicom&bulk_retrieve=0"
    resp = requests.post(f"{server.url}/slicer/open", params={"url": link})
    assert resp.status_code == 200, resp.text
    (node_id,) = resp.json()["loadedNodeIDs"]
    props = requests.get(f"{server.url}/slicer/mrml/properties", params={"id": node_id}).json()
    assert props[node_id]["ImageData"]["Extent"] == [0, 7, 0, 8, 0, 3]
