// The WebIDL binder's `ensureCache` (emscripten tools/webidl_binder.py), as its glue has it: sloppy-mode code, the
// object's properties as the binder names them. `passArray` copies an array argument through it.
module.exports = function (exports) {
  var ensureCache = {
    buffer: 0, size: 0, pos: 0, temps: [], needed: 0,
    prepare: function () {
      if (ensureCache.needed) {
        for (var i = 0; i < ensureCache.temps.length; i++) exports.free(ensureCache.temps[i]);
        ensureCache.temps.length = 0;
        exports.free(ensureCache.buffer);
        ensureCache.buffer = 0;
        ensureCache.size += ensureCache.needed;
        ensureCache.needed = 0;
      }
      if (!ensureCache.buffer) {
        ensureCache.size += 128;
        ensureCache.buffer = exports.malloc(ensureCache.size);
      }
      ensureCache.pos = 0;
    },
    alloc: function (array) {
      var len = array.length;
      if (ensureCache.pos + len >= ensureCache.size) {
        ensureCache.needed += len;
        var ret = exports.malloc(len);
        ensureCache.temps.push(ret);
        return ret;
      }
      var ret = ensureCache.buffer + ensureCache.pos;
      ensureCache.pos += len;
      return ret;
    },
  };
  return {
    passArray: function (array) {
      ensureCache.prepare();
      var p = ensureCache.alloc(array);
      new Int8Array(exports.memory.buffer, p, array.length).set(array);
      return p;
    },
    cacheSize: function () { return ensureCache.size; },
  };
};
