// The voxweb viewer: the scene's layout of slice and 3-D views, rendered by the server, with
// the tools to move through them and to load data. Built only on the public HTTP API
// (/slicer, /dicom, /api), so it doubles as an example web client. No framework, no build step.

import { ApiError, api, showAuthNeeded, showError, wireTokenForm } from '/common.js';
import { SliceViewBox, ThreeDViewBox } from '/viewer-views.js';
import { DataPanel } from '/viewer-data.js';

const POLL_MS = 1500; // how often changes made by other clients are looked for

/** Where the views of each layout go (rows of cells): the server's grids, from /api/layouts. */
const LAYOUTS = {};

const $ = (id) => document.getElementById(id);

function gcd(a, b) { return b ? gcd(b, a % b) : a; }

/** CSS grid-template-areas for rows of cells (a cell repeated in a column spans rows). */
function gridAreas(rows) {
  const columns = rows.reduce((acc, row) => (acc * row.length) / gcd(acc, row.length), 1);
  const area = (cell) => (cell.startsWith('3D:') ? `v3d${cell.slice(3)}` : cell);
  return rows.map((row) => `"${row.flatMap((cell) => Array(columns / row.length).fill(area(cell))).join(' ')}"`).join(' ');
}

class Viewer {
  constructor() {
    this.views = new Map(); // name -> SliceViewBox | ThreeDViewBox
    this.layout = null;
    this.volumes = new Map(); // volume id -> properties
    this.activeVolume = null;
    this.wl = new Map(); // volume id -> {window, level} chosen in this page
    this.wlStart = null;
    this.locked = false;
    this.polling = false;
    this.fiducials = {};
  }

  // --- start -------------------------------------------------------------------------------

  async start() {
    wireTokenForm($('token-form'));
    $('layout').addEventListener('change', () => this.setLayout($('layout').value));
    $('volume').addEventListener('change', () => this.chooseVolume($('volume').value));
    $('label-opacity').addEventListener('change', () => this.setLabelOpacity(Number($('label-opacity').value)));
    this.data = new DataPanel(this);
    if (!(await this.loadLayouts())) return;
    if (!(await this.poll())) return;
    $('workspace').hidden = false;
    this.data.start();
    setInterval(() => document.hidden || this.poll(), POLL_MS);
    document.addEventListener('visibilitychange', () => document.hidden || this.poll());
  }

  // --- errors --------------------------------------------------------------------------------

  /**
   * Show an error in plain words. Errors of something the user did stay until the next action
   * (sticky); trouble reaching the server clears itself once the server answers again.
   */
  reportError(error, sticky = error.status !== 0) {
    if (error instanceof ApiError && error.status === 401) {
      this.locked = true;
      $('workspace').hidden = true;
      showError($('error'), '');
      showAuthNeeded($('auth-needed'), error.message);
      this.setConnection('locked', 'no token');
      return;
    }
    if (sticky || !this.stickyError) {
      showError($('error'), error.message || String(error));
      this.stickyError = sticky;
    }
    if (error.status === 0) this.setConnection('offline', 'server not answering');
  }

  /** Hide the error: a sticky one only when the user starts something new (force). */
  clearError(force = false) {
    if ($('error').hidden || (this.stickyError && !force)) return;
    showError($('error'), '');
    this.stickyError = false;
  }

  setConnection(state, text) {
    const badge = $('connection');
    badge.dataset.state = state;
    badge.textContent = text;
  }

  // --- reading the scene (also how changes by other clients arrive) -------------------------

  /** Read layout, slice nodes, volumes and points; refresh what changed. False on failure. */
  async poll() {
    if (this.polling) return true;
    this.polling = true;
    try {
      const [layoutNode, sliceNodes, selection, volumes, fiducials] = await Promise.all([
        api('/slicer/mrml/properties?id=vtkMRMLLayoutNodevtkMRMLLayoutNode'),
        api('/slicer/mrml/properties?class=vtkMRMLSliceNode').catch(() => ({})),
        api('/slicer/mrml/properties?id=vtkMRMLSelectionNodeSingleton'),
        api('/slicer/volumes'),
        api('/slicer/fiducials'),
      ]);
      if (this.locked) {
        this.locked = false;
        $('auth-needed').hidden = true;
        $('workspace').hidden = false;
      }
      this.setConnection('live', 'live');
      this.clearError();
      await this.readVolumes(volumes, selection.vtkMRMLSelectionNodeSingleton?.ActiveVolumeID || null);
      const layoutName = layoutNode.vtkMRMLLayoutNodevtkMRMLLayoutNode?.LayoutName || 'FourUp';
      this.applyLayout(layoutName);
      for (const node of Object.values(sliceNodes)) {
        const view = this.views.get(node.Name);
        if (view && view.setNode(node)) view.refresh({ revalidate: true });
        if (node.Name === 'Red' && typeof node.LabelOpacity === 'number' && document.activeElement !== $('label-opacity')) {
          $('label-opacity').value = String(node.LabelOpacity);
        }
      }
      // Anything else (a camera moved by another client, new points) shows in the image:
      // revalidating costs a 304 when nothing changed.
      for (const view of this.views.values()) {
        if (!view.interacting && !view.channel.busy) view.refresh({ revalidate: true });
      }
      this.showFiducials(fiducials);
      return true;
    } catch (error) {
      this.reportError(error, false);
      return false;
    } finally {
      this.polling = false;
    }
  }

  async readVolumes(list, activeId) {
    const ids = new Set(list.map((v) => v.id));
    for (const id of [...this.volumes.keys()]) if (!ids.has(id)) this.volumes.delete(id);
    const missing = list.filter((v) => !this.volumes.has(v.id));
    const props = await Promise.all(missing.map((v) => api(`/slicer/mrml/properties?id=${encodeURIComponent(v.id)}`)));
    for (const p of props) for (const [id, value] of Object.entries(p)) this.volumes.set(id, value);
    const select = $('volume');
    const wanted = list.map((v) => `${v.id}\u0000${v.name}`).join('\u0001');
    if (select.dataset.list !== wanted) {
      select.replaceChildren(...(list.length ? [] : [new Option('(none)', '')]),
        ...list.map((v) => new Option(v.name, v.id)));
      select.dataset.list = wanted;
    }
    if (activeId && this.volumes.has(activeId) && document.activeElement !== select) select.value = activeId;
    if (activeId !== this.activeVolume) {
      this.activeVolume = activeId;
      for (const view of this.views.values()) view.refresh();
    }
  }

  volumeProps(id) {
    return id ? this.volumes.get(id) || null : null;
  }

  async refreshSliceNode(view) {
    try {
      const props = await api(`/slicer/mrml/properties?id=vtkMRMLSliceNode${encodeURIComponent(view.name)}`);
      const node = Object.values(props)[0];
      if (node) view.setNode(node);
    } catch (error) {
      this.reportError(error);
    }
  }

  // --- layout --------------------------------------------------------------------------------

  /** The layout grids and the layout menu, as the server draws them. False on failure. */
  async loadLayouts() {
    let grids;
    try {
      grids = await api('/api/layouts');
    } catch (error) {
      this.reportError(error, false);
      return false;
    }
    const menu = $('layout');
    menu.replaceChildren();
    for (const grid of grids) {
      LAYOUTS[grid.name] = grid.rows;
      if (grid.title) menu.append(new Option(grid.title, grid.name));
    }
    return true;
  }

  async setLayout(name) {
    this.clearError(true);
    try {
      await api(`/slicer/gui?viewersLayout=${encodeURIComponent(name)}`);
      this.applyLayout(name);
    } catch (error) {
      this.reportError(error);
    }
  }

  applyLayout(name) {
    const rows = LAYOUTS[name] || LAYOUTS.FourUp;
    if (document.activeElement !== $('layout')) $('layout').value = LAYOUTS[name] ? name : 'FourUp';
    if (this.layout === name) return;
    this.layout = name;
    const container = $('views');
    container.dataset.layout = name;
    container.style.gridTemplateAreas = gridAreas(rows);
    const columns = gridAreas(rows).split('"')[1].split(' ').length;
    container.style.gridTemplateColumns = `repeat(${columns}, minmax(0, 1fr))`;
    container.style.gridTemplateRows = `repeat(${rows.length}, minmax(0, 1fr))`;
    const wanted = new Set(rows.flat());
    for (const [key, view] of this.views) {
      if (!wanted.has(key)) {
        view.destroy();
        this.views.delete(key);
      }
    }
    for (const cell of wanted) {
      if (this.views.has(cell)) continue;
      const view = cell.startsWith('3D:')
        ? new ThreeDViewBox(this, cell.slice(3), `v3d${cell.slice(3)}`)
        : new SliceViewBox(this, cell, cell);
      this.views.set(cell, view);
      container.append(view.root);
    }
    this.refreshSliceNodes();
  }

  async refreshSliceNodes() {
    for (const view of this.views.values()) if (view instanceof SliceViewBox) await this.refreshSliceNode(view);
  }

  // --- volume, window/level, label opacity ---------------------------------------------------

  async chooseVolume(id) {
    if (!id) return;
    this.clearError(true);
    try {
      await api('/api/display', { method: 'POST', body: { volume: id } });
      await this.poll();
      this.refreshAll();
    } catch (error) {
      this.reportError(error);
    }
  }

  async setLabelOpacity(value) {
    this.clearError(true);
    try {
      await api('/api/display', { method: 'POST', body: { label_opacity: value } });
      this.refreshAll();
    } catch (error) {
      this.reportError(error);
    }
  }

  refreshAll() {
    for (const view of this.views.values()) view.refresh();
  }

  /** Window/level chosen in this page for a volume, or null (the server's own). */
  windowLevel(volumeId) {
    const id = volumeId || this.activeVolume;
    return id ? this.wl.get(id) || null : null;
  }

  windowLevelDrag(view, dx, dy) {
    const volume = this.volumeProps(view.node?.BackgroundVolumeID);
    if (!volume) return;
    const id = view.node.BackgroundVolumeID;
    let wl = this.wl.get(id);
    if (!wl) {
      wl = { window: volume.Window ?? 400, level: volume.Level ?? 100 };
      this.wl.set(id, wl);
    }
    const scale = Math.max(Math.abs(volume.Window ?? 400), 1) / 300;
    wl.window = Math.max(1, wl.window + dx * scale);
    wl.level += dy * scale;
    view.touch();
    view.refresh();
  }

  windowLevelDone() {
    // The other slice views follow once the drag ends (PNG, since nobody is dragging them).
    for (const view of this.views.values()) if (view instanceof SliceViewBox) view.refresh();
    // Keep the choice in the scene, so a reload (or another client) sees the same contrast.
    for (const [volume, wl] of this.wl) {
      api('/api/window-level', { method: 'POST', body: { volume, window: wl.window, level: wl.level } })
        .catch((error) => this.reportError(error));
    }
  }

  // --- points --------------------------------------------------------------------------------

  movingPoint() {
    const checked = document.querySelector('input[name="move-point"]:checked');
    return checked && checked.value ? JSON.parse(checked.value) : null;
  }

  placePoint(view, event) {
    const ras = view.rasAt(event);
    if (!ras) return;
    const moving = this.movingPoint();
    this.clearError(true);
    // One placement at a time, each reading the lists fresh: quick clicks never make two lists.
    this.pointQueue = (this.pointQueue || Promise.resolve()).then(() => this.sendPoint(ras, moving));
  }

  async sendPoint(ras, moving) {
    const [r, a, s] = ras.map((v) => v.toFixed(3));
    try {
      this.fiducials = await api('/slicer/fiducials');
      if (moving) {
        await api(`/slicer/fiducial?id=${encodeURIComponent(moving.id)}&index=${moving.index}&r=${r}&a=${a}&s=${s}`);
      } else {
        let id = Object.keys(this.fiducials)[0];
        if (!id) {
          id = await this.data.createPointList(ras);
        } else {
          const index = this.fiducials[id].markups.length;
          await api(`/slicer/fiducial?id=${encodeURIComponent(id)}&index=${index}&r=${r}&a=${a}&s=${s}`);
        }
      }
      this.showFiducials(await api('/slicer/fiducials'));
      this.refreshAll();
    } catch (error) {
      this.reportError(error);
    }
  }

  showFiducials(fiducials) {
    const text = JSON.stringify(fiducials);
    if (text === this.fiducialsText) return;
    this.fiducialsText = text;
    this.fiducials = fiducials;
    const moving = this.movingPoint();
    const rows = [];
    for (const [id, node] of Object.entries(fiducials)) {
      node.markups.forEach((point, index) => {
        const row = document.createElement('tr');
        row.dataset.node = id;
        row.dataset.index = String(index);
        const radio = document.createElement('input');
        radio.type = 'radio';
        radio.name = 'move-point';
        radio.value = JSON.stringify({ id, index });
        radio.setAttribute('aria-label', `Move ${point.label || `point ${index + 1}`} with the next click`);
        if (moving && moving.id === id && moving.index === index) radio.checked = true;
        const cells = [radio, point.label || `${node.name}-${index + 1}`, ...point.position.map((v) => v.toFixed(1))];
        for (const content of cells) {
          const cell = document.createElement('td');
          cell.append(content);
          row.append(cell);
        }
        rows.push(row);
      });
    }
    $('fiducials').replaceChildren(...rows);
  }
}

const viewer = new Viewer();
window.voxwebViewer = viewer; // for debugging from the console
viewer.start();
