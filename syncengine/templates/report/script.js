function applyFilters(){
  const v=id=>{const e=document.getElementById(id); return e?e.value:''};
  const q=v('q').toLowerCase(), sys=v('system'), fld=v('field');
  document.querySelectorAll('table.data').forEach(t=>{
    let shown=0;
    t.querySelectorAll('tbody tr').forEach(r=>{
      const ok=(!q||r.textContent.toLowerCase().includes(q))
        &&(!sys||(r.dataset.systems||'').split(' ').includes(sys))
        &&(!fld||r.dataset.field===fld);
      r.classList.toggle('hidden',!ok); if(ok) shown++;
    });
    const c=document.getElementById(t.id+'-count'); if(c) c.textContent=shown+' shown';
  });
}
function sortBy(th){
  const table=th.closest('table'), body=table.tBodies[0], i=[...th.parentNode.children].indexOf(th);
  const asc=!th.classList.contains('asc');
  th.parentNode.querySelectorAll('th').forEach(h=>h.classList.remove('asc','desc'));
  th.classList.add(asc?'asc':'desc');
  const key=r=>{const c=r.children[i]; return c?(c.dataset.sort??c.textContent).trim():''};
  const rows=[...body.rows].sort((a,b)=>{
    const x=key(a),y=key(b),nx=parseFloat(x),ny=parseFloat(y);
    const d=(!isNaN(nx)&&!isNaN(ny)&&String(nx)===x&&String(ny)===y)?nx-ny:x.localeCompare(y);
    return asc?d:-d;});
  rows.forEach(r=>body.appendChild(r));
}
document.addEventListener('DOMContentLoaded',()=>{
  ['q','system','field'].forEach(id=>{const e=document.getElementById(id);
    if(e) e.addEventListener('input',applyFilters);});
  document.querySelectorAll('table.data th').forEach(th=>th.addEventListener('click',()=>sortBy(th)));
  applyFilters();
});
