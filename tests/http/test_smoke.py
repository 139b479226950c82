def test_version_needs_token_and_answers_with_it(shared_server):
    assert shared_server.get("/slicer/system/version", auth=False).status_code == 401
    r = shared_server.get("/slicer/system/version")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.json()["applicationName"] == "voxweb"
