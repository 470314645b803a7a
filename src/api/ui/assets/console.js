// peerd console: times in the browser's time zone, live updates of the
// parts of a page marked data-live (every second, while the tab is
// visible), select-all, and confirmations. Every page works without it.
(function () {
  'use strict';
  var pad = function (n) { return String(n).padStart(2, '0'); };

  // <time datetime="...Z"> in UTC -> the browser's local time.
  function localise(root) {
    root.querySelectorAll('time[datetime]').forEach(function (t) {
      if (t.dataset.local) { return; }
      var d = new Date(t.getAttribute('datetime'));
      if (isNaN(d.getTime())) { return; }
      var off = -d.getTimezoneOffset();
      var sign = off >= 0 ? '+' : '-';
      off = Math.abs(off);
      t.textContent = d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) +
        ' ' + pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds()) +
        ' UTC' + sign + pad(Math.floor(off / 60)) + ':' + pad(off % 60);
      t.title = t.getAttribute('datetime');
      t.dataset.local = '1';
    });
  }

  // A live part is left alone while the operator is typing in it.
  function busy(el) {
    var a = document.activeElement;
    if (a && el.contains(a) && a.matches('input[type=text], input[type=password], textarea, select')) { return true; }
    return Array.prototype.some.call(el.querySelectorAll('input[type=text], textarea'), function (i) { return i.value !== ''; });
  }

  var seen = {};
  var running = false;
  function refresh() {
    if (running || document.hidden) { return; }
    running = true;
    fetch(window.location.href, { credentials: 'same-origin', cache: 'no-store', headers: { 'X-Peerd-Live': '1' } })
      .then(function (r) {
        if (r.redirected || r.status === 401) { window.location.reload(); return null; }
        return r.ok ? r.text() : null;
      })
      .then(function (html) {
        if (!html) { return; }
        var doc = new DOMParser().parseFromString(html, 'text/html');
        if (!doc.body || doc.body.dataset.page !== document.body.dataset.page) { return; }
        document.querySelectorAll('[data-live][id]').forEach(function (el) {
          var fresh = doc.getElementById(el.id);
          if (!fresh || fresh.innerHTML === seen[el.id] || busy(el)) { return; }
          var checked = {};
          el.querySelectorAll('input[type=checkbox]:checked').forEach(function (c) { checked[c.value] = true; });
          el.innerHTML = fresh.innerHTML;
          seen[el.id] = fresh.innerHTML;
          el.querySelectorAll('input[type=checkbox]').forEach(function (c) { if (checked[c.value]) { c.checked = true; } });
          localise(el);
        });
      })
      .catch(function () { /* the next round tries again */ })
      .then(function () { running = false; });
  }

  document.addEventListener('DOMContentLoaded', function () {
    localise(document);
    document.querySelectorAll('[data-live][id]').forEach(function (el) { seen[el.id] = null; });
    if (document.body.dataset.live === 'on') { window.setInterval(refresh, 1000); }
  });

  // "select all" checkboxes select the boxes of their form.
  document.addEventListener('change', function (e) {
    var t = e.target;
    if (t.matches && t.matches('input[data-select-all]')) {
      document.querySelectorAll('input[type=checkbox][name="id"][form="' + t.dataset.selectAll + '"]')
        .forEach(function (c) { c.checked = t.checked; });
    }
  });

  // Forms that remove something ask first.
  document.addEventListener('submit', function (e) {
    var msg = e.target.dataset && e.target.dataset.confirm;
    if (msg && !window.confirm(msg)) { e.preventDefault(); }
  });
}());
