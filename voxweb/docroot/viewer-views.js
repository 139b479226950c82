// The views of the viewer page: one box per slice or 3-D view, each an <img> fed by the
// server's /slicer/slice or /slicer/threeD. Every view has one image channel: at most one
// request in flight, and only the newest wanted image waits behind it (older wishes are
// dropped). While the user drags or scrolls, images come as JPEG; once idle, as PNG.

import { ApiError } from '/common.js';

const IDLE_MS = 250; // quiet time after an interaction before the PNG refinement
const MAX_PIXELS = 2048; // per side, after devicePixelRatio

/** Turn a failed response into an ApiError with the server's own words. */
export async function responseError(response) {
  let message = '';
  try {
    const data = JSON.parse(await response.text());
    message = data?.message || data?.detail || '';
  } catch {
    message = '';
  }
  if (!message) message = `The server answered ${response.status} to ${response.url.replace(location.origin, '')}.`;
  return new ApiError(response.status, message);
}

/**
 * One image slot: `want(builder)` asks for an image; `builder()` is called only when the
 * request is about to be sent, so it can pick up the latest state (accumulated orbit, newest
 * offset). A wish made while a request is in flight replaces any earlier waiting wish.
 */
export class ImageChannel {
  constructor(img, { onError, onShown, onMissing } = {}) {
    this.img = img;
    this.onError = onError || (() => {});
    this.onShown = onShown || (() => {});
    this.onMissing = onMissing || (() => {});
    this.pending = null;
    this.busy = false;
    this.etag = null;
    this.objectUrl = null;
    this.loads = 0;
    this.closed = false;
  }

  want(builder, { revalidate = false } = {}) {
    this.pending = { builder, revalidate };
    if (!this.busy) this.pump();
  }

  close() {
    this.closed = true;
    this.pending = null;
    if (this.objectUrl) URL.revokeObjectURL(this.objectUrl);
  }

  async pump() {
    this.busy = true;
    this.img.closest('.view')?.setAttribute('data-busy', '1');
    try {
      while (this.pending && !this.closed) {
        const { builder, revalidate } = this.pending;
        this.pending = null;
        const url = builder();
        if (!url) continue;
        let response;
        try {
          // no-cache: the browser revalidates with the ETag, so an unchanged image costs a 304.
          response = await fetch(url, { credentials: 'same-origin', cache: 'no-cache' });
        } catch {
          this.onError(new ApiError(0, 'The server does not answer. Is “voxweb serve” still running?'));
          continue;
        }
        if (response.status === 404 && url.startsWith('/slicer/slice')) {
          await response.arrayBuffer();
          this.etag = null;
          this.onMissing();
          continue;
        }
        if (!response.ok) {
          this.onError(await responseError(response));
          continue;
        }
        const etag = response.headers.get('ETag');
        if (revalidate && etag && etag === this.etag) {
          await response.arrayBuffer(); // unchanged: keep the picture we have
          continue;
        }
        const blob = await response.blob();
        if (this.closed) break;
        await this.show(blob, etag, url);
      }
    } finally {
      this.busy = false;
      this.img.closest('.view')?.removeAttribute('data-busy');
    }
  }

  async show(blob, etag, url) {
    const objectUrl = URL.createObjectURL(blob);
    const loaded = new Promise((resolve) => {
      this.img.onload = resolve;
      this.img.onerror = resolve;
    });
    this.img.src = objectUrl;
    await loaded;
    if (this.objectUrl) URL.revokeObjectURL(this.objectUrl);
    this.objectUrl = objectUrl;
    this.etag = etag;
    this.loads += 1;
    this.img.dataset.loads = String(this.loads);
    this.img.dataset.format = blob.type.includes('jpeg') ? 'jpeg' : 'png';
    // The formats of the last images shown, newest last (lets tests see JPEG-then-PNG).
    this.img.dataset.formats = `${this.img.dataset.formats || ''} ${this.img.dataset.format}`.trim().split(' ').slice(-20).join(' ');
    this.img.dataset.src = url;
    this.onShown(url);
  }
}

function element(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === 'class') node.className = value;
    else if (key.startsWith('data-') || key.startsWith('aria-') || key === 'title' || key === 'type') {
      node.setAttribute(key, value);
    } else node[key] = value;
  }
  node.append(...children);
  return node;
}

/** Common parts of a view box: the element, its image channel, size tracking, idle timer. */
class ViewBox {
  constructor(app, kind, name, area) {
    this.app = app;
    this.kind = kind;
    this.name = name;
    this.bar = element('div', { class: 'bar' }, element('span', { class: 'name' }, name));
    this.img = element('img', { class: 'frame', alt: `${name} view`, draggable: false });
    this.message = element('div', { class: 'message' });
    this.message.hidden = true;
    this.root = element('section', { class: 'view', 'data-view': name, 'data-kind': kind, 'aria-label': `${name} view` },
      this.bar, this.message, this.img);
    this.root.style.gridArea = area;
    this.channel = new ImageChannel(this.img, {
      // A view that cannot be drawn says why in its box; a lost token or server concerns the page.
      onError: (error) => ([0, 401].includes(error.status) ? app.reportError(error) : this.showMessage(error.message)),
      onShown: () => { this.message.hidden = true; app.clearError(); },
      onMissing: () => this.showMessage('No volume in this view. Load data on the right.'),
    });
    this.interacting = false;
    this.idleTimer = 0;
    this.size = [0, 0];
    this.resizeObserver = new ResizeObserver(() => this.onResize());
    this.resizeObserver.observe(this.root);
    this.resizeObserver.observe(this.bar); // a toolbar that wraps takes more room
  }

  showMessage(text) {
    this.message.textContent = text;
    this.message.hidden = false;
    this.img.removeAttribute('src');
  }

  destroy() {
    this.resizeObserver.disconnect();
    this.channel.close();
    clearTimeout(this.idleTimer);
    this.root.remove();
  }

  /** The image size in device pixels that fills the box below the toolbar. */
  pixelSize() {
    const ratio = Math.min(window.devicePixelRatio || 1, 2);
    const bar = this.bar.offsetHeight;
    const w = Math.max(16, Math.min(MAX_PIXELS, Math.round(this.root.clientWidth * ratio)));
    const h = Math.max(16, Math.min(MAX_PIXELS, Math.round((this.root.clientHeight - bar) * ratio)));
    return [w, h];
  }

  onResize() {
    // The toolbar keeps its own strip: the image (and a fitted volume) starts below it.
    const bar = this.bar.offsetHeight;
    this.img.style.top = `${bar}px`;
    this.img.style.height = `${Math.max(0, this.root.clientHeight - bar)}px`;
    const size = this.pixelSize();
    if (size[0] === this.size[0] && size[1] === this.size[1]) return;
    this.size = size;
    this.refresh();
  }

  /** Mark an interaction: JPEG now, a PNG refinement once the user pauses. */
  touch() {
    this.interacting = true;
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.interacting = false;
      this.refresh();
    }, IDLE_MS);
  }

  format() {
    return this.interacting ? 'format=jpeg&quality=80' : 'format=png';
  }

  /** Drag helper: calls move(dx, dy, event) with the movement since the last call. */
  onDrag(target, { start, move, end, click }) {
    target.addEventListener('pointerdown', (event) => {
      if (event.button !== 0) return;
      event.preventDefault();
      target.setPointerCapture(event.pointerId);
      let lastX = event.clientX;
      let lastY = event.clientY;
      let travelled = 0;
      start?.(event);
      const onMove = (e) => {
        const dx = e.clientX - lastX;
        const dy = e.clientY - lastY;
        lastX = e.clientX;
        lastY = e.clientY;
        travelled += Math.abs(dx) + Math.abs(dy);
        if (travelled > 3 && (dx || dy)) {
          this.root.classList.add('dragging');
          move(dx, dy, e);
        }
      };
      const onUp = (e) => {
        target.removeEventListener('pointermove', onMove);
        target.removeEventListener('pointerup', onUp);
        target.removeEventListener('pointercancel', onUp);
        this.root.classList.remove('dragging');
        if (travelled <= 3 && e.type === 'pointerup') click?.(e);
        else end?.(e);
      };
      target.addEventListener('pointermove', onMove);
      target.addEventListener('pointerup', onUp);
      target.addEventListener('pointercancel', onUp);
    });
  }
}

/** A slice view (Red, Yellow, Green): wheel scrolls, drag sets window/level, click places a point. */
export class SliceViewBox extends ViewBox {
  constructor(app, name, area) {
    super(app, 'slice', name, area);
    this.node = null; // the slice node's properties from /slicer/mrml/properties
    this.offset = null; // the offset we want the view at (mm)
    this.sendOffset = false; // the next request moves the shared view
    this.sendOrientation = null;
    this.orientation = element('select', { 'aria-label': `${name} orientation`, title: 'Orientation' },
      ...['Axial', 'Sagittal', 'Coronal'].map((o) => element('option', { value: o }, o)));
    this.slider = element('input', { type: 'range', 'aria-label': `${name} slice position`, title: 'Slice position' });
    this.slider.min = '0';
    this.slider.max = '1000';
    this.slider.step = '1';
    this.offsetLabel = element('span', { class: 'offset' }, '');
    this.bar.append(this.orientation, this.slider, this.offsetLabel);

    this.orientation.addEventListener('change', () => {
      this.sendOrientation = this.orientation.value;
      this.offset = null;
      this.refresh({ afterwards: () => app.refreshSliceNode(this) });
    });
    this.slider.addEventListener('input', () => {
      const range = this.range();
      if (!range) return;
      this.moveTo(range[0] + (Number(this.slider.value) / 1000) * (range[1] - range[0]));
    });
    this.img.addEventListener('wheel', (event) => {
      event.preventDefault();
      if (this.offset === null) return;
      const steps = Math.sign(event.deltaY) * Math.max(1, Math.round(Math.abs(event.deltaY) / 100));
      this.moveTo(this.offset - steps * this.step());
    }, { passive: false });
    // Keyboard: the view takes focus; arrows and Page keys move through the slices.
    this.root.tabIndex = 0;
    this.root.addEventListener('keydown', (event) => {
      const steps = { ArrowUp: 1, ArrowRight: 1, PageUp: 10, ArrowDown: -1, ArrowLeft: -1, PageDown: -10 }[event.key];
      if (!steps || this.offset === null || event.target !== this.root) return;
      event.preventDefault();
      this.moveTo(this.offset + steps * this.step());
    });
    this.onDrag(this.img, {
      start: () => this.root.focus({ preventScroll: true }),
      move: (dx, dy) => app.windowLevelDrag(this, dx, dy),
      end: () => app.windowLevelDone(),
      click: (event) => app.placePoint(this, event),
    });
  }

  /** Slice positions (mm) the volume spans along this view's normal: [low, high]. */
  range() {
    const volume = this.app.volumeProps(this.node?.BackgroundVolumeID);
    if (!volume || !this.node) return null;
    const m = volume.IJKToRASMatrix;
    const dims = volume.ImageData?.Dimensions;
    if (!m || !dims) return null;
    const n = [0, 1, 2].map((r) => this.node.SliceToRAS[r][2]);
    let low = Infinity;
    let high = -Infinity;
    for (const i of [0, dims[0] - 1]) for (const j of [0, dims[1] - 1]) for (const k of [0, dims[2] - 1]) {
      const ras = [0, 1, 2].map((r) => m[r][0] * i + m[r][1] * j + m[r][2] * k + m[r][3]);
      const along = ras[0] * n[0] + ras[1] * n[1] + ras[2] * n[2];
      low = Math.min(low, along);
      high = Math.max(high, along);
    }
    return [low, high];
  }

  /** One scroll step in mm: the voxel spacing along the normal (at least 0.1 mm). */
  step() {
    const volume = this.app.volumeProps(this.node?.BackgroundVolumeID);
    const m = volume?.IJKToRASMatrix;
    if (!m || !this.node) return 1;
    const n = [0, 1, 2].map((r) => this.node.SliceToRAS[r][2]);
    let best = Infinity;
    for (let c = 0; c < 3; c += 1) {
      const column = [m[0][c], m[1][c], m[2][c]];
      const length = Math.hypot(...column);
      const along = Math.abs(column[0] * n[0] + column[1] * n[1] + column[2] * n[2]);
      if (length > 0 && along / length > 0.5) best = Math.min(best, length);
    }
    return Number.isFinite(best) ? Math.max(best, 0.1) : 1;
  }

  moveTo(offset) {
    this.movedAt = performance.now();
    const range = this.range();
    if (range) offset = Math.min(range[1], Math.max(range[0], offset));
    this.offset = offset;
    this.sendOffset = true;
    this.showOffset();
    this.touch();
    this.refresh();
  }

  showOffset() {
    if (this.offset === null) return;
    this.offsetLabel.textContent = `${this.offset.toFixed(1)} mm`;
    const range = this.range();
    if (range && range[1] > range[0] && document.activeElement !== this.slider) {
      this.slider.value = String(Math.round(((this.offset - range[0]) / (range[1] - range[0])) * 1000));
    }
  }

  /** New properties of the slice node (from a poll or after a move). */
  setNode(node) {
    const changed = !this.node || this.node.MTime !== node.MTime;
    this.node = node;
    // A poll answered while our own move was on its way may carry the old position: for a
    // moment after a local move, the position wanted here wins.
    const settling = performance.now() - (this.movedAt || -Infinity) < 2000;
    if (!this.sendOffset && !this.interacting && !settling) this.offset = node.SliceOffset;
    if (document.activeElement !== this.orientation) this.orientation.value = node.Orientation || 'Axial';
    this.showOffset();
    return changed;
  }

  refresh({ revalidate = false, afterwards } = {}) {
    if (!this.size[0]) return;
    this.channel.want(() => {
      const [w, h] = this.size;
      let url = `/slicer/slice?view=${encodeURIComponent(this.name)}&size=${w}x${h}&${this.format()}&fiducials=1`;
      if (this.sendOrientation) {
        url += `&orientation=${encodeURIComponent(this.sendOrientation)}`;
        this.sendOrientation = null;
      }
      if (this.sendOffset && this.offset !== null) {
        url += `&offset=${this.offset.toFixed(3)}`;
        this.sendOffset = false;
      }
      const wl = this.app.windowLevel(this.node?.BackgroundVolumeID);
      if (wl) url += `&window=${wl.window.toFixed(2)}&level=${wl.level.toFixed(2)}`;
      if (afterwards) queueMicrotask(() => this.channel.img.addEventListener('load', afterwards, { once: true }));
      return url;
    }, { revalidate });
  }

  /** The RAS point under a pointer event, from the view's plane and field of view. */
  rasAt(event) {
    if (!this.node) return null;
    const rect = this.img.getBoundingClientRect();
    const [w, h] = this.size;
    const u = ((event.clientX - rect.left) / rect.width) * w;
    const v = ((event.clientY - rect.top) / rect.height) * h;
    const fov = this.node.FieldOfView;
    const s = Math.max(fov[0] / w, fov[1] / h);
    const x = (u - w / 2) * s;
    const y = (h / 2 - v) * s;
    const m = this.node.SliceToRAS;
    // The plane may have moved since the node was read (wheel, slider): use the wanted offset.
    const shift = this.offset === null ? 0 : this.offset - this.node.SliceOffset;
    return [0, 1, 2].map((r) => m[r][0] * x + m[r][1] * y + m[r][2] * shift + m[r][3]);
  }
}

/** A 3-D view: buttons look from each axis, drag orbits the camera. */
export class ThreeDViewBox extends ViewBox {
  constructor(app, tag, area) {
    super(app, 'threeD', `3D ${tag}`, area);
    this.tag = tag;
    this.root.dataset.view = `3D${tag}`;
    this.orbit = [0, 0];
    this.zoom = 1; // dolly factor gathered since the last request (wheel)
    this.lookFrom = null;
    for (const axis of ['L', 'R', 'A', 'P', 'S', 'I']) {
      const button = element('button', { type: 'button', title: `Look from ${axis}` }, axis);
      button.addEventListener('click', () => {
        this.lookFrom = axis;
        this.orbit = [0, 0];
        this.refresh();
      });
      this.bar.append(button);
    }
    this.centre = false;
    const centre = element('button', { type: 'button', title: 'Centre view: fit the scene, keep the direction', 'data-role': 'centre' }, '⊙');
    centre.addEventListener('click', () => {
      this.centre = true;
      this.orbit = [0, 0];
      this.zoom = 1;
      this.refresh();
    });
    this.bar.append(centre);
    this.img.addEventListener('wheel', (event) => {
      event.preventDefault();
      this.zoom *= Math.exp(-event.deltaY / 500); // wheel up brings things closer
      this.touch();
      this.refresh();
    }, { passive: false });
    this.onDrag(this.img, {
      move: (dx, dy) => {
        this.orbit[0] += dx * 0.5;
        this.orbit[1] += dy * 0.5;
        this.touch();
        this.refresh();
      },
    });
  }

  refresh({ revalidate = false } = {}) {
    if (!this.size[0]) return;
    this.channel.want(() => {
      const [w, h] = this.size;
      // view= is the 0-based index of the 3-D view (widgetIndex); the layout names them 1, 2, ...
      let url = `/slicer/threeD?view=${Number(this.tag) - 1}&size=${w}x${h}&${this.format()}`;
      if (this.lookFrom) {
        url += `&lookFromAxis=${this.lookFrom}`;
        this.lookFrom = null;
      }
      if (this.centre) {
        url += '&centerView=1';
        this.centre = false;
      }
      // Orbit moves persist on the server, so the degrees gathered while a request was in
      // flight travel together in the next one: none are lost when wishes are dropped.
      if (this.orbit[0] || this.orbit[1]) {
        url += `&orbitX=${this.orbit[0].toFixed(2)}&orbitY=${this.orbit[1].toFixed(2)}`;
        this.orbit = [0, 0];
      }
      if (Math.abs(this.zoom - 1) > 1e-3) {
        url += `&zoom=${this.zoom.toFixed(4)}`;
        this.zoom = 1;
      }
      return url;
    }, { revalidate });
  }
}
