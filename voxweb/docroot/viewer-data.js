// Loading data into the viewer's scene: sample data sets, files dropped on the page (uploaded
// to /api/files), and a DICOM browser over this server's DICOMweb (/dicom: studies -> series ->
// "Load", which asks /api/dicom/load to turn the series into a volume).

import { ApiError, api } from '/common.js';
import { responseError } from '/viewer-views.js';

const $ = (id) => document.getElementById(id);
const DICOM_JSON = 'application/dicom+json, application/json';

/** First value of a DICOM JSON attribute (PersonName as its alphabetic form). */
function tag(item, key) {
  const value = item?.[key]?.Value?.[0];
  if (value && typeof value === 'object') return value.Alphabetic || '';
  return value ?? '';
}

function formatDate(text) {
  return /^\d{8}$/.test(text) ? `${text.slice(0, 4)}-${text.slice(4, 6)}-${text.slice(6)}` : text;
}

async function dicomJson(path) {
  let response;
  try {
    response = await fetch(path, { credentials: 'same-origin', cache: 'no-store', headers: { Accept: DICOM_JSON } });
  } catch {
    throw new ApiError(0, 'The server does not answer. Is “voxweb serve” still running?');
  }
  if (response.status === 204) return [];
  if (!response.ok) throw await responseError(response);
  const text = await response.text();
  return text ? JSON.parse(text) : [];
}

export class DataPanel {
  constructor(viewer) {
    this.viewer = viewer;
  }

  start() {
    for (const button of document.querySelectorAll('[data-sample]')) {
      button.addEventListener('click', () => this.loadSample(button.dataset.sample, button));
    }
    this.offerSamples();
    $('file-input').addEventListener('change', (event) => {
      this.upload([...event.target.files]);
      event.target.value = '';
    });
    // The whole page is a drop target: dropping a file anywhere loads it.
    document.addEventListener('dragover', (event) => {
      if (![...event.dataTransfer.types].includes('Files')) return;
      event.preventDefault();
      document.body.classList.add('drag-over');
    });
    document.addEventListener('dragleave', (event) => {
      if (!event.relatedTarget) document.body.classList.remove('drag-over');
    });
    document.addEventListener('drop', (event) => {
      document.body.classList.remove('drag-over');
      if (!event.dataTransfer?.files?.length) return;
      event.preventDefault();
      this.upload([...event.dataTransfer.files]);
    });
    $('dicom-refresh').addEventListener('click', () => this.searchStudies());
    this.searchStudies();
  }

  status(text) {
    $('load-status').textContent = text;
  }

  async loaded(message) {
    this.status(message);
    await this.viewer.poll();
    this.viewer.refreshAll();
  }

  /** Disable the sample buttons that cannot load now (offline, no local copy). */
  async offerSamples() {
    let samples = [];
    try {
      samples = await api('/api/samples');
    } catch {
      return; // an older server: keep every button
    }
    for (const sample of samples) {
      const button = document.querySelector(`[data-sample="${sample.name}"]`);
      if (!button) continue;
      button.disabled = !sample.loadable;
      button.title = sample.loadable ? '' : `${sample.name} cannot load: no local copy, and it cannot be downloaded here`;
    }
  }

  async loadSample(name, button) {
    button.disabled = true;
    this.viewer.clearError(true);
    this.status(`Loading ${name}…`);
    try {
      await api(`/slicer/sampledata?name=${encodeURIComponent(name)}`);
      await this.loaded(`${name} loaded.`);
    } catch (error) {
      this.status('');
      this.viewer.reportError(error);
    } finally {
      button.disabled = false;
      await this.offerSamples(); // a failed download (offline) disables the button
    }
  }

  /** Upload files one after another to /api/files, which loads each by its extension. */
  async upload(files) {
    this.viewer.clearError(true);
    for (const file of files) {
      this.status(`Uploading ${file.name} (${(file.size / 1e6).toFixed(1)} MB)…`);
      try {
        const response = await fetch(`/api/files?filename=${encodeURIComponent(file.name)}`, {
          method: 'POST',
          credentials: 'same-origin',
          headers: { 'Content-Type': 'application/octet-stream', Accept: 'application/json' },
          body: file,
        });
        if (!response.ok) throw await responseError(response);
        await this.loaded(`${file.name} loaded.`);
      } catch (error) {
        this.status(`${file.name} was not loaded.`);
        this.viewer.reportError(error);
      }
    }
  }

  /** A new point list holding one point: uploaded as a small .mrk.json file. */
  async createPointList(ras) {
    const doc = {
      '@schema': 'https://raw.githubusercontent.com/slicer/slicer/master/Modules/Loadable/Markups/Resources/Schema/markups-schema-v1.0.3.json#',
      markups: [{
        type: 'Fiducial',
        coordinateSystem: 'RAS',
        controlPoints: [{ id: '1', label: 'F-1', position: ras }],
      }],
    };
    const response = await fetch('/api/files?filename=F.mrk.json', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/octet-stream', Accept: 'application/json' },
      body: JSON.stringify(doc),
    });
    if (!response.ok) throw await responseError(response);
    const reply = await response.json();
    return reply.loadedNodeIDs[0];
  }

  // --- DICOM browser ---------------------------------------------------------------------

  async searchStudies() {
    const list = $('studies');
    $('dicom-status').textContent = 'Searching…';
    try {
      const studies = await dicomJson('/dicom/studies?limit=200&includefield=00081030,00080061,00201206,00100010,00080020');
      list.replaceChildren(...studies.map((study) => this.studyItem(study)));
      $('dicom-status').textContent = studies.length
        ? `${studies.length} ${studies.length === 1 ? 'study' : 'studies'}. Open one to see its series.`
        : 'No studies yet. Send some with STOW-RS or “voxweb dicom import”.';
    } catch (error) {
      $('dicom-status').textContent = error.status === 404
        ? 'DICOMweb is switched off on this server.'
        : `The studies could not be listed: ${error.message}`;
    }
  }

  studyItem(study) {
    const uid = tag(study, '0020000D');
    const item = document.createElement('li');
    item.dataset.study = uid;
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'study';
    button.setAttribute('aria-expanded', 'false');
    const desc = document.createElement('span');
    desc.className = 'desc';
    desc.textContent = tag(study, '00081030') || '(no description)';
    const meta = document.createElement('span');
    meta.className = 'subtle';
    const series = tag(study, '00201206');
    meta.textContent = ` ${tag(study, '00100010') || 'anonymous'} · ${formatDate(tag(study, '00080020'))} · `
      + `${(study['00080061']?.Value || []).join('/')}${series !== '' ? ` · ${series} series` : ''}`;
    button.append(desc, meta);
    button.addEventListener('click', () => this.toggleStudy(item, button, uid));
    item.append(button);
    return item;
  }

  async toggleStudy(item, button, uid) {
    const open = item.querySelector('ul');
    if (open) {
      open.remove();
      button.setAttribute('aria-expanded', 'false');
      return;
    }
    button.setAttribute('aria-expanded', 'true');
    const list = document.createElement('ul');
    list.setAttribute('aria-label', 'Series');
    item.append(list);
    try {
      const series = await dicomJson(`/dicom/studies/${encodeURIComponent(uid)}/series?includefield=0008103E,00200011,00201209,00080060`);
      series.sort((a, b) => Number(tag(a, '00200011') || 0) - Number(tag(b, '00200011') || 0));
      list.replaceChildren(...series.map((s) => this.seriesItem(uid, s)));
    } catch (error) {
      const li = document.createElement('li');
      li.textContent = `The series could not be listed: ${error.message}`;
      list.replaceChildren(li);
    }
  }

  seriesItem(studyUid, series) {
    const uid = tag(series, '0020000E');
    const li = document.createElement('li');
    li.dataset.series = uid;
    const label = document.createElement('span');
    const count = tag(series, '00201209');
    label.textContent = `${tag(series, '00080060')} #${tag(series, '00200011')} ${tag(series, '0008103E') || '(no description)'}`
      + `${count !== '' ? ` (${count} images)` : ''}`;
    const load = document.createElement('button');
    load.type = 'button';
    load.textContent = 'Load';
    load.setAttribute('aria-label', `Load series ${tag(series, '0008103E') || uid} into the scene`);
    load.addEventListener('click', async () => {
      load.disabled = true;
      this.viewer.clearError(true);
      this.status(`Loading series ${tag(series, '0008103E') || uid}…`);
      try {
        await api(`/api/dicom/load?study=${encodeURIComponent(studyUid)}&series=${encodeURIComponent(uid)}`, { method: 'POST' });
        await this.loaded(`Series ${tag(series, '0008103E') || uid} loaded.`);
      } catch (error) {
        this.status('');
        this.viewer.reportError(error);
      } finally {
        load.disabled = false;
      }
    });
    li.append(label, load);
    return li;
  }
}
