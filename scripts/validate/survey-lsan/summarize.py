import json,re,sys
# One row per build of a survey program (run.sh): LSan's totals, then wasmleak's summary and, for -O0/-O2, its groups.
n=sys.argv[1]; d='out/'
err=open(d+n+'.asan.err').read()
def tot(kind):
    b=o=0
    for m in re.finditer(kind+r' leak of (\d+) byte\(s\) in (\d+) object', err):
        b+=int(m.group(1)); o+=int(m.group(2))
    return o,b
D=tot('Direct'); I=tot('Indirect')
print(f"{n}: LSan direct {D[0]} blk/{D[1]} B, indirect {I[0]} blk/{I[1]} B  ({open(d+n+'.asan.rc').read().strip()})")
for b in ['O0','O2','Oz','O0.strip','O2.strip','Oz.strip']:
    rc=open(d+f'{n}.{b}.rc').read().strip()
    try: j=json.load(open(d+f'{n}.{b}.json'))
    except Exception as e:
        print(f"  {b:9} rc={rc} NO JSON: {open(d+f'{n}.{b}.err').read()[:300]}"); continue
    s=j['summary']
    g=lambda k: s.get(k,0)
    print(f"  {b:9} rc={rc} lost {g('lost_blocks')}/{g('lost_bytes')} ind {g('indirect_blocks')}/{g('indirect_bytes')} cyc {g('cycle_blocks')}/{g('cycle_bytes')} host {g('host_blocks')} reach {g('reachable_blocks')}/{g('reachable_bytes')} runtime {g('runtime_blocks')} allocs {g('allocations')} frees {g('frees')} inv {g('invalid_frees')} exit {j['exit']['status']}:{j['exit'].get('code')} {('INCONCL' if j.get('inconclusive') else '')}")
    if b in ('O0','O2'):
      for gr in j['groups']:
        st=gr.get('site') or {}
        print(f"       {gr['kind']:9} {gr['blocks']:3} blk {gr['bytes']:6} B  site {st.get('function')} {st.get('file','')}:{st.get('line','')}  type={gr.get('type','')}")
