// Renders /api/openapi.json as a readable list of endpoints: method, path, summary,
// parameters, request body fields and responses. FastAPI's own docs pages load from a CDN,
// so voxweb ships this page instead.

import { api, showAuthNeeded, showError, wireTokenForm } from '/common.js';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const $ = (id) => document.getElementById(id);

function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === 'className') node.className = value;
    else node.setAttribute(key, value);
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

function refName(ref) {
  return ref.split('/').pop();
}

function resolve(schema, spec) {
  if (schema && schema.$ref) {
    const name = refName(schema.$ref);
    return spec.components?.schemas?.[name] ?? {};
  }
  return schema ?? {};
}

/** A short type label: "integer", "boolean or null", "array of LogEntryModel", ... */
function typeLabel(schema, spec) {
  if (!schema) return '';
  if (schema.$ref) return refName(schema.$ref);
  const union = schema.anyOf || schema.oneOf;
  if (union) return union.map((s) => typeLabel(s, spec)).join(' or ');
  if (schema.type === 'array') return `array of ${typeLabel(schema.items, spec) || 'values'}`;
  if (Array.isArray(schema.type)) return schema.type.join(' or ');
  return schema.type || schema.title || 'any';
}

function fieldsTable(schema, spec) {
  const resolved = resolve(schema, spec);
  const properties = resolved.properties;
  if (!properties) return h('p', {}, 'Body: ', h('code', {}, typeLabel(schema, spec)));
  const required = new Set(resolved.required || []);
  const rows = Object.entries(properties).map(([name, prop]) => h('tr', {},
    h('td', {}, h('code', {}, name)),
    h('td', {}, typeLabel(prop, spec)),
    h('td', {}, required.has(name) ? 'yes' : 'no'),
    h('td', {}, prop.description || (prop.default !== undefined ? `default ${JSON.stringify(prop.default)}` : '')),
  ));
  return h('table', { className: 'params' },
    h('thead', {}, h('tr', {}, ...['Field', 'Type', 'Required', 'Notes'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, ...rows));
}

function parametersTable(parameters, spec) {
  const rows = parameters.map((param) => h('tr', {},
    h('td', {}, h('code', {}, param.name)),
    h('td', {}, param.in),
    h('td', {}, typeLabel(param.schema, spec)),
    h('td', {}, param.required ? 'yes' : 'no'),
    h('td', {}, param.description
      || (param.schema?.default !== undefined ? `default ${JSON.stringify(param.schema.default)}` : '')),
  ));
  return h('table', { className: 'params' },
    h('thead', {}, h('tr', {}, ...['Parameter', 'In', 'Type', 'Required', 'Notes'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, ...rows));
}

function responsesList(responses, spec) {
  const items = Object.entries(responses || {}).map(([code, response]) => {
    const content = response.content || {};
    const types = Object.entries(content).map(([mediaType, body]) => {
      const label = body.schema ? typeLabel(body.schema, spec) : '';
      return label && label !== 'any' ? `${mediaType} (${label})` : mediaType;
    });
    return h('li', {}, h('code', {}, code), ` ${response.description || ''}`,
      types.length ? h('span', { className: 'subtle' }, ` — ${types.join(', ')}`) : null);
  });
  return h('ul', {}, ...items);
}

function endpoint(method, path, operation, spec) {
  const id = `${method}-${path}`.replace(/[^a-zA-Z0-9]+/g, '-');
  const article = h('article', { className: 'endpoint', id, 'data-path': path, 'data-method': method.toUpperCase() },
    h('h3', {}, h('span', { className: `method ${method}` }, method.toUpperCase()), h('code', {}, path),
      operation.summary ? h('span', { className: 'subtle' }, operation.summary) : null));
  if (operation.description) article.append(h('p', {}, operation.description));
  const parameters = operation.parameters || [];
  if (parameters.length) article.append(h('p', {}, 'Parameters:'), parametersTable(parameters, spec));
  const body = operation.requestBody;
  if (body) {
    const [mediaType, media] = Object.entries(body.content || {})[0] || [];
    article.append(h('p', {}, `Request body (${mediaType || 'any'})${body.required ? ', required' : ''}:`));
    if (media?.schema) article.append(fieldsTable(media.schema, spec));
  }
  article.append(h('p', {}, 'Responses:'), responsesList(operation.responses, spec));
  return { article, id };
}

function render(spec) {
  $('api-version').textContent = `${spec.info?.title || ''} ${spec.info?.version || ''}`.trim();
  const intro = $('native-intro');
  intro.replaceChildren('Read live from ', h('a', { href: '/api/openapi.json' }, '/api/openapi.json'),
    ` (OpenAPI ${spec.openapi || ''}).`);
  const toc = $('api-toc');
  const list = $('api-endpoints');
  for (const [path, item] of Object.entries(spec.paths || {})) {
    for (const method of METHODS) {
      if (!item[method]) continue;
      const { article, id } = endpoint(method, path, item[method], spec);
      list.append(article);
      toc.append(h('li', {}, h('a', { href: `#${id}` }, `${method.toUpperCase()} ${path}`)));
    }
  }
  // Show the model schemas too: the shapes the endpoints return.
  const schemas = Object.entries(spec.components?.schemas || {})
    .filter(([name]) => !/ValidationError$/.test(name));
  if (schemas.length) {
    list.append(h('h3', {}, 'Schemas'));
    for (const [name, schema] of schemas) {
      list.append(h('article', { className: 'endpoint', id: `schema-${name}` },
        h('h3', {}, h('code', {}, name)), fieldsTable(schema, spec)));
    }
  }
}

async function start() {
  wireTokenForm($('token-form'));
  try {
    render(await api('/api/openapi.json'));
  } catch (error) {
    $('native-intro').textContent = 'The endpoint list could not be loaded.';
    if (error.status === 401) showAuthNeeded($('auth-needed'), error.message);
    else showError($('error'), error.message);
  }
}

start();
