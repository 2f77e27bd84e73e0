// yoga-layout 3.2.1 (Emscripten C++ with Embind, closure-compiled glue: the registration functions' names are
// minified; the module is embedded as base64). Lays out a root with 5 children N times; `nofree` never calls
// `freeRecursive()` / `config.free()`. Usage: node yoga_app.mjs [N] [nofree]   (default 10)
import Yoga from 'yoga-layout';

const n = Number(process.argv[2] || 10), mode = process.argv[3] || '';
let total = 0;
for (let i = 0; i < n; i++) {
  const config = Yoga.Config.create();
  config.setPointScaleFactor(2);
  const root = Yoga.Node.create(config);
  root.setWidth(500 + i);
  root.setHeight(300);
  root.setFlexDirection(Yoga.FLEX_DIRECTION_ROW);
  for (let k = 0; k < 5; k++) {
    const child = Yoga.Node.create(config);
    child.setFlexGrow(1);
    child.setMargin(Yoga.EDGE_ALL, k);
    root.insertChild(child, k);
  }
  root.calculateLayout(undefined, undefined, Yoga.DIRECTION_LTR);
  for (let k = 0; k < 5; k++) total += root.getChild(k).getComputedLayout().width;
  if (mode !== 'nofree') {
    root.freeRecursive();
    config.free();
  }
}
console.log(`yoga x${n}${mode ? ` ${mode}` : ''}: done (${total.toFixed(2)})`);
