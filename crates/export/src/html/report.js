// The comparison and allocation-profile tables: click a column header to sort (again to reverse), type to
// filter the sites.
function sortableTable (id) {
  'use strict'
  var table = document.getElementById(id)
  if (!table) return
  var tbody = table.tBodies[0]
  var heads = Array.prototype.slice.call(table.tHead.rows[0].cells)
  function sortBy (th) {
    var numeric = th.getAttribute('data-sort') === 'num'
    var cur = th.getAttribute('aria-sort')
    var dir = cur === 'descending' ? 'ascending' : cur === 'ascending' ? 'descending' : (numeric ? 'descending' : 'ascending')
    heads.forEach(function (h) { h.removeAttribute('aria-sort') })
    th.setAttribute('aria-sort', dir)
    var col = th.cellIndex
    var sign = dir === 'ascending' ? 1 : -1
    var key = function (row) {
      var cell = row.cells[col]
      return numeric ? Number(cell.getAttribute('data-v')) : cell.textContent.toLowerCase()
    }
    var rows = Array.prototype.slice.call(tbody.rows)
    rows.sort(function (a, b) {
      var x = key(a)
      var y = key(b)
      return (x < y ? -1 : x > y ? 1 : 0) * sign
    })
    rows.forEach(function (r) { tbody.appendChild(r) })
  }
  heads.forEach(function (th) {
    if (!th.hasAttribute('data-sort')) return
    th.tabIndex = 0
    th.title = 'sort by this column (click again to reverse)'
    th.addEventListener('click', function () { sortBy(th) })
    th.addEventListener('keydown', function (e) {
      if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); sortBy(th) }
    })
  })
  var filter = document.getElementById(id + '-filter')
  var count = document.getElementById(id + '-count')
  var total = tbody.rows.length
  function applyFilter () {
    var needle = filter.value.trim().toLowerCase()
    var shown = 0
    Array.prototype.forEach.call(tbody.rows, function (r) {
      var hit = !needle || r.getAttribute('data-text').indexOf(needle) >= 0
      r.hidden = !hit
      if (hit) shown++
    })
    count.textContent = needle ? shown + ' of ' + total + ' sites match' : total + ' sites'
  }
  filter.addEventListener('input', applyFilter)
  applyFilter()
}
sortableTable('cmp')
sortableTable('prof')
