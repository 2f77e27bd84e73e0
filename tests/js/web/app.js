// The test app: load rust_lib.wasm the usual way, two buttons. "Create a processor" calls create_processor()
// and drops the pointer it returns (the Processor box and its buffer are never destroyed); "Process" calls
// process_ok(), which creates and destroys one.
const { instance } = await WebAssembly.instantiateStreaming(fetch('rust_lib.wasm'), {});
const x = instance.exports;
x._initialize?.();

const out = document.getElementById('out');
let created = 0, processed = 0;
const show = () => { out.textContent = `created ${created}, processed ${processed}`; };

document.getElementById('create').addEventListener('click', () => { x.create_processor(); created++; show(); });
document.getElementById('process').addEventListener('click', () => { x.process_ok(); processed++; show(); });
for (const b of document.querySelectorAll('button')) b.disabled = false;
show();
document.body.dataset.ready = 'true';
