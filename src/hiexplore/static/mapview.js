/* hiexplore's map component (app_support/mapview.py): the geometry of a geography is fetched
 * once per frame from its content-addressed file on the same server (the browser's cache keeps
 * it across sessions), or arrives inline when that file cannot be had; every render brings only
 * values (class numbers, figures, legend, as one JSON string), and the shapes already drawn are
 * re-coloured in place. Speaks Streamlit's component protocol directly (postMessage); nothing is
 * fetched from anywhere but the app's own origin.
 *
 * Text is data: names and codes are escaped (esc) wherever they reach HTML; the legend arrives as
 * HTML that hiexplore.maps.legend_box built with every piece of text escaped. */
(function () {
  'use strict';
  var geoms = {};          // geometry key -> geometry payload, for this frame's life
  var drawn = null;        // what is on the map: {key, g, renderer, levels: [{cells: [...]}]}
  var vals = null;         // the latest values payload
  var showPractices = false;
  // frame: this frame's own id, so that a new frame's first request is never taken for an old one's
  var state = {need: null, seq: 0, click: null, clicks: 0, frame: Math.random().toString(36).slice(2)};
  var map = null, legendCtl = null, legendDiv = null, pracLayer = null, labelLayer = null;
  var hx = window.hxState = {geometryReceived: 0, geometryFetches: 0, geometryInline: 0, geometryBuilds: 0,
    valuesApplied: 0, key: null, renders: 0};

  function send(type, extra) {
    var msg = {isStreamlitMessage: true, type: type};
    for (var k in extra) { if (Object.prototype.hasOwnProperty.call(extra, k)) { msg[k] = extra[k]; } }
    window.parent.postMessage(msg, '*');
  }
  function setValue() {
    send('streamlit:setComponentValue', {dataType: 'json', value: {need: state.need, seq: state.seq, frame: state.frame, click: state.click}});
  }
  function setHeight() {
    send('streamlit:setFrameHeight', {height: document.getElementById('hx-wrap').offsetHeight + 6});
  }
  function esc(s) {
    return String(s).replace(/[&<>"'{}`]/g, function (c) {
      return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '{': '&#123;',
              '}': '&#125;', '`': '&#96;'}[c];
    });
  }
  function decode(g, scale) {
    var out = [];
    for (var r = 0; r < g.length; r++) {
      var ring = g[r], x = 0, y = 0, pts = new Array(ring.length / 2);
      for (var i = 0; i < ring.length; i += 2) { x += ring[i]; y += ring[i + 1]; pts[i / 2] = [y / scale, x / scale]; }
      out.push(pts);
    }
    return out;
  }
  function fmt(v) { return v === null || v === undefined ? 'no data' : v.toFixed(vals.decimals) + vals.units; }

  function style(li, i) {
    var d = vals.levels[li] || {}, k = d.k ? d.k[i] : -1, flag = d.f && d.f[i], cold = d.s && d.s[i];
    return {fillColor: (k >= 0 && k < vals.palette.length) ? vals.palette[k] : vals.missing,
      fillOpacity: 1, color: flag ? '#000000' : '#555555', weight: flag ? 2.6 : (cold ? 1.8 : 0.5),
      opacity: flag || cold ? 1 : 0.7, dashArray: cold && !flag ? '4 3' : null, fillRule: 'evenodd'};
  }
  function tip(li, i) {
    var lv = drawn.g.levels[li], d = vals.levels[li] || {};
    var html = '<b>' + esc(lv.n[i]) + '</b> <span style="color:#555">(' + esc(lv.c[i]) + ')</span><br>' + esc(fmt(d.v ? d.v[i] : null));
    if (d.lo && d.hi && d.v[i] !== null && d.lo[i] !== null && d.hi[i] !== null) {
      html += ' <span style="color:#444">(95% CI ' + d.lo[i].toFixed(vals.decimals) + ' to ' + d.hi[i].toFixed(vals.decimals) + ')</span>';
    }
    if (d.x) {
      for (var j = 0; j < d.x.length; j++) {
        var col = d.x[j], xv = Array.isArray(col) ? col[i] : (col.i[i] < 0 ? null : col.u[col.i[i]]);
        html += '<br>' + esc(d.labels[j]) + ': ' + (xv === null ? 'no data' : esc(typeof xv === 'number' ? xv.toLocaleString('en-GB') : xv));
      }
    }
    if (d.f && d.f[i]) { html += '<br><b>' + esc(vals.flaggedLabel) + '</b>'; }
    if (d.s && d.s[i]) { html += '<br>Cold spot (cluster of low values)'; }
    return html;
  }

  function ensureMap(height) {
    var el = document.getElementById('hx-map');
    el.style.height = height + 'px';
    if (!map) {
      map = L.map(el, {zoomControl: false, zoomSnap: 0.25, attributionControl: false, keyboard: true});
      L.control.zoom({position: 'topleft'}).addTo(map);
      L.control.scale({position: 'bottomleft', imperial: false}).addTo(map);
      map.createPane('hx-points').style.zIndex = 460;
      legendCtl = L.control({position: 'topright'});  // a corner away from the city, above the fold
      legendCtl.onAdd = function () {
        legendDiv = L.DomUtil.create('div', 'hx-box hx-legend');
        L.DomEvent.disableClickPropagation(legendDiv);
        L.DomEvent.disableScrollPropagation(legendDiv);
        return legendDiv;
      };
      legendCtl.addTo(map);
      // Shapes are not Tab stops: Leaflet's tooltip focus listeners make Chromium stop at each SVG
      // path (hundreds of LSOAs) before the table below the map, which lists the same areas with
      // the same figures. The map itself takes focus once (arrows pan, +/- zoom); as
      // hiexplore.a11y.label_map_frame does for folium maps.
      map.on('layeradd', function (e) { untab(e.layer); });
      map.on('zoomend moveend', update);
      map.on('click', function (e) { report(null, e.latlng); });
      window.hxMap = map;
    }
    map.invalidateSize();
  }

  function untab(layer) {
    var el = layer.getElement && layer.getElement();
    if (el && el.tagName.toLowerCase() === 'path') { el.setAttribute('tabindex', '-1'); }
  }

  /* the frame's accessible name (hiexplore.a11y.map_frame_label): Streamlit titles a component's
   * frame with the component's name, which says nothing to a screen-reader user */
  function nameFrame(label) {
    if (!label) { return; }
    document.title = label;
    document.getElementById('hx-map').setAttribute('aria-label',
      label + '. Arrow keys pan, plus and minus zoom; Tab moves on to the table.');
    var f = null;
    try { f = window.frameElement; } catch (e) { f = null; }
    if (f && f.getAttribute('aria-label') !== label) { f.setAttribute('aria-label', label); }
  }

  function report(code, latlng) {
    state.clicks += 1;
    state.click = {code: code, lat: latlng.lat, lng: latlng.lng, n: state.clicks};
    window.hxLastClick = state.click;
    setValue();
  }

  function clearDrawn() {
    if (!drawn) { return; }
    drawn.levels.forEach(function (lv) { lv.cells.forEach(function (c) { if (c.layer) { map.removeLayer(c.layer); } }); });
    if (pracLayer) { map.removeLayer(pracLayer); pracLayer = null; }
    if (labelLayer) { map.removeLayer(labelLayer); labelLayer = null; }
    drawn = null;
  }

  function drawGeometry(g) {
    clearDrawn();
    var renderer = g.canvas ? L.canvas({padding: 0.3, tolerance: 2}) : L.svg({padding: 0.3});
    drawn = {key: g.key, g: g, renderer: renderer, levels: g.levels.map(function (lv) {
      return {cells: lv.cells.map(function (c) { return {b: c.b, i: c.i, layer: null, polys: []}; })};
    })};
    hx.geometryBuilds += 1;
    hx.key = g.key;
    if (g.bounds) { map.fitBounds([[g.bounds[1], g.bounds[0]], [g.bounds[3], g.bounds[2]]], {padding: [6, 6]}); }
    if (g.labels) {
      labelLayer = L.layerGroup();
      g.labels.n.forEach(function (name, i) {
        var mk = L.marker([g.labels.lat[i], g.labels.lon[i]], {interactive: false, keyboard: false,
          icon: L.divIcon({className: 'hx-label', iconSize: null, html: '<div>' + esc(name) + '</div>'})});
        mk.hxZoom = g.labels.z[i];
        labelLayer.addLayer(mk);
      });
      labelLayer.addTo(map);
    }
  }

  function buildCell(li, cell) {
    var lv = drawn.g.levels[li], scale = Math.pow(10, lv.p), group = L.featureGroup();
    for (var j = 0; j < cell.i.length; j++) {
      var i = cell.i[j];
      if (!lv.g[i].length) { continue; }
      var st = style(li, i);
      st.renderer = drawn.renderer;
      var poly = L.polygon(decode(lv.g[i], scale), st);
      poly.hxLevel = li; poly.hxIndex = i;
      group.addLayer(poly);
      cell.polys.push(poly);
    }
    group.bindTooltip(function (layer) { return tip(layer.hxLevel, layer.hxIndex); }, {sticky: true, className: 'hx-tip'});
    group.on('mouseover', function (e) { e.layer.setStyle({weight: 2.5, color: '#000000', opacity: 1}); });
    group.on('mouseout', function (e) { e.layer.setStyle(style(e.layer.hxLevel, e.layer.hxIndex)); });
    group.on('click', function (e) {
      var last = e.layer.hxLevel === drawn.g.levels.length - 1;
      L.DomEvent.stopPropagation(e);
      report(last ? drawn.g.levels[e.layer.hxLevel].c[e.layer.hxIndex] : null, e.latlng);
    });
    return group;
  }

  function update() {
    if (!drawn || !vals) { return; }
    var z = map.getZoom(), view = map.getBounds().pad(0.3), shown = null, g = drawn.g;
    for (var l = 0; l < g.levels.length; l++) {
      var lv = g.levels[l], active = z >= lv.min && (lv.max === null || z < lv.max);
      if (active) { shown = lv; }
      var cells = drawn.levels[l].cells;
      for (var c = 0; c < cells.length; c++) {
        var cell = cells[c], b = cell.b;
        var want = active && (cells.length === 1 || view.intersects(L.latLngBounds([b[1], b[0]], [b[3], b[2]])));
        if (want && !cell.layer) { cell.layer = buildCell(l, cell); }
        if (cell.layer) {
          if (want && !map.hasLayer(cell.layer)) { cell.layer.addTo(map); }
          if (!want && map.hasLayer(cell.layer)) { map.removeLayer(cell.layer); }
        }
      }
    }
    if (labelLayer) {
      labelLayer.eachLayer(function (mk) { var el = mk.getElement(); if (el) { el.style.display = z >= mk.hxZoom ? '' : 'none'; } });
    }
    var status = document.getElementById('hx-status');
    if (g.canvas && shown) {
      var next = null;
      for (var m = 0; m < g.levels.length; m++) { if (g.levels[m].min > z) { next = g.levels[m]; break; } }
      status.textContent = 'Showing ' + shown.name + (next ? ' \u00b7 zoom in for ' + next.name : '');
    } else {
      status.textContent = '';
    }
    window.hxMapLevel = shown ? shown.geo : null;
    updatePractices();
  }

  function updatePractices() {
    var p = drawn && drawn.g.practices;
    if (!p) { return; }
    var want = showPractices && map.getZoom() >= p.minZoom;
    if (want && !pracLayer) {
      pracLayer = L.featureGroup();
      for (var i = 0; i < p.lat.length; i++) {
        var mk = L.circleMarker([p.lat[i], p.lon[i]], {pane: 'hx-points', radius: p.r[i], fillColor: '#ffffff',
          fillOpacity: 0.85, color: '#000000', weight: 1.1});
        mk.hxIndex = i;
        pracLayer.addLayer(mk);
      }
      pracLayer.bindTooltip(function (layer) {
        var i = layer.hxIndex;
        return '<b>' + esc(p.n[i]) + '</b> (' + esc(p.c[i]) + ')<br>List size: ' +
          (p.s[i] === null ? 'no data' : p.s[i].toLocaleString('en-GB'));
      }, {className: 'hx-tip'});
    }
    if (pracLayer) {
      if (want && !map.hasLayer(pracLayer)) { pracLayer.addTo(map); }
      if (!want && map.hasLayer(pracLayer)) { map.removeLayer(pracLayer); }
    }
  }

  function applyValues() {
    document.getElementById('hx-title').textContent = vals.title;
    nameFrame(vals.label);
    var note = document.getElementById('hx-note');  // the estimates / synthetic caveat: once, whole
    note.textContent = vals.note || '';
    note.hidden = !vals.note;
    if (legendDiv) {
      legendDiv.innerHTML = vals.legendHtml;  // built and escaped by hiexplore.maps.legend_box
      var det = legendDiv.querySelector('details');
      if (det && map.getSize().x < 700 && hx.valuesApplied === 0) { det.removeAttribute('open'); }
    }
    drawn.levels.forEach(function (lv, li) {
      lv.cells.forEach(function (cell) {
        cell.polys.forEach(function (poly) { poly.setStyle(style(li, poly.hxIndex)); });
      });
    });
    hx.valuesApplied += 1;
    window.hxPalette = vals.palette;
    update();
  }

  function parsed(v) { return typeof v === 'string' ? JSON.parse(v) : v; }
  var lastArgs = null, rawVals = null, parsedVals = null, fetching = {}, failed = {};

  /* ask the server for the shapes through the websocket (this frame's fetch failed, or no file) */
  function askShapes(key) {
    if (state.need !== key) { state.need = key; state.seq += 1; setValue(); }
  }

  /* the shapes from their content-addressed file (same origin; a name never changes content, so
   * the browser's cache answers a later session without asking the server) */
  function fetchShapes(key, url) {
    if (fetching[key]) { return; }
    fetching[key] = true;
    hx.geometryFetches += 1;
    fetch(url, {cache: 'force-cache', credentials: 'same-origin'}).then(function (r) {
      if (!r.ok || !r.body) { throw new Error('HTTP ' + r.status); }
      // the file is gzipped JSON (served as application/gzip: not compressed again per request)
      return new Response(r.body.pipeThrough(new DecompressionStream('gzip'))).json();
    }).then(function (g) {
      if (!g || g.key !== key) { throw new Error('not the shapes asked for'); }
      if (!geoms[key]) { hx.geometryReceived += 1; }
      geoms[key] = g;
      if (lastArgs && lastArgs.geometry_key === key) { onRender(lastArgs); }
    }).catch(function () {
      failed[key] = true;
      fetching[key] = false;
      askShapes(key);
    });
  }

  function onRender(args) {
    hx.renders += 1;
    lastArgs = args;
    var key = args.geometry_key;
    // Streamlit re-posts the same args on resize: parse and count new shapes only
    if (args.geometry && !geoms[key]) {
      var inline = parsed(args.geometry);
      hx.geometryReceived += 1;
      hx.geometryInline += 1;
      geoms[inline.key] = inline;
    }
    var g = geoms[key], v = args.values;
    if (typeof v === 'string') {
      if (v !== rawVals) { rawVals = v; parsedVals = JSON.parse(v); }
      v = parsedVals;
    }
    ensureMap(args.height || 640);
    nameFrame(v && v.label);  // named even while the shapes are on their way
    showPractices = !!args.show_practices;
    if (!g) {  // this frame has not got these shapes (a new frame): fetch them, else ask once
      if (args.geometry_url && !failed[key] && window.DecompressionStream) { fetchShapes(key, args.geometry_url); } else { askShapes(key); }
      document.getElementById('hx-status').textContent = 'Loading boundaries \u2026';
      setHeight();
      return;
    }
    vals = v;
    if (!drawn || drawn.key !== key) { drawGeometry(g); }
    applyValues();
    setHeight();
  }

  /* the colour each drawn area has now, by "geography:code" (tests, debugging) */
  window.hxFills = function () {
    var out = {};
    if (!drawn) { return out; }
    drawn.levels.forEach(function (lvd, li) {
      var lv = drawn.g.levels[li];
      lvd.cells.forEach(function (cell) {
        cell.polys.forEach(function (poly) { out[lv.geo + ':' + lv.c[poly.hxIndex]] = poly.options.fillColor; });
      });
    });
    return out;
  };
  /* how many areas of the chosen geography the map has, and how many have a value (tests) */
  window.hxAreaCount = function () {
    if (!drawn || !vals) { return null; }
    var li = drawn.g.levels.length - 1, lv = drawn.g.levels[li], d = vals.levels[li] || {}, all = 0, valued = 0;
    for (var i = 0; i < lv.c.length; i++) {
      if (!lv.g[i].length) { continue; }
      all += 1;
      if (d.k && d.k[i] >= 0) { valued += 1; }
    }
    return {all: all, valued: valued, geo: lv.geo};
  };
  /* the first numbers of the first drawn ring: a piece of geometry to look for on the wire (tests) */
  window.hxGeometrySample = function () {
    var lv = drawn && drawn.g.levels[drawn.g.levels.length - 1];
    return lv ? lv.g.filter(function (a) { return a.length; })[0][0].slice(0, 4) : null;
  };

  window.addEventListener('message', function (event) {
    var data = event.data;
    if (data && data.type === 'streamlit:render') { onRender(data.args || {}); }
  });
  window.addEventListener('resize', function () { if (map) { map.invalidateSize(); } });
  send('streamlit:componentReady', {apiVersion: 1});
}());
