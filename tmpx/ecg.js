const fs = require('fs');
const tf = require('@tensorflow/tfjs');
const { selectBackend } = require('../dist/model/backend');
const { buildAutoencoder } = require('../dist/model/autoencoder');
const { trainAutoencoder } = require('../dist/model/train');
const { Scorer } = require('../dist/model/scorer');
function read(f){ return fs.readFileSync(f,'utf8').trim().split('\n').map(l=>l.trim().split(/\s+/).map(Number)); }
function auc(s, pos){ const idx=s.map((v,i)=>i).sort((a,b)=>s[a]-s[b]); let r=0, np=0, nn=0; const ranks=new Array(s.length); let i=0; while(i<idx.length){let j=i; while(j+1<idx.length && s[idx[j+1]]===s[idx[i]]) j++; for(let k=i;k<=j;k++) ranks[idx[k]]=(i+j)/2+1; i=j+1;} for(let k=0;k<s.length;k++){ if(pos[k]){r+=ranks[k];np++;} else nn++; } return (r-np*(np+1)/2)/(np*nn); }
(async()=>{
  await selectBackend();
  const cfg = JSON.parse(process.argv[2]||'{}');
  const dir='/work/shared/data/ecg5000/';
  const tr=read(dir+'ECG5000_dev_train.txt'), te=read(dir+'ECG5000_dev_test.txt');
  const norm=tr.filter(r=>r[0]===1).map(r=>r.slice(1));
  let mn=Infinity,mx=-Infinity; norm.forEach(r=>r.forEach(v=>{mn=Math.min(mn,v);mx=Math.max(mx,v);}));
  const m=cfg.margin??0.05; const span=mx-mn; const lo=mn-m*span, hi=mx+m*span;
  const sc=v=>Math.min(1,Math.max(0,(v-lo)/(hi-lo)));
  const D=140;
  const mk=rows=>{const d=new Float32Array(rows.length*D); rows.forEach((r,i)=>r.forEach((v,j)=>d[i*D+j]=sc(v))); return {data:d,n:rows.length,inputSize:D};};
  const X=mk(norm), T=mk(te.map(r=>r.slice(1))); const lab=te.map(r=>r[0]!==1);
  const seeds=cfg.seeds??[1];
  let tot=new Array(te.length).fill(0), trs=new Array(norm.length).fill(0);
  for(const seed of seeds){
  const model=buildAutoencoder({inputSize:D, encoderUnits:cfg.enc??[128,64], latentUnits:cfg.lat??16, seed});
  const h=await trainAutoencoder(model,X,{loss:cfg.loss??'bce',epochs:cfg.epochs??200,batchSize:cfg.bs??32,learningRate:cfg.lr??1e-3,validationFraction:cfg.vf??0.1,patience:cfg.pat??20,seed,noise:{gaussianSigma:cfg.sigma??0.05,maskFraction:cfg.mask??0,saltPepperFraction:0}});
  const s=new Scorer(model,{channels:1,metric:cfg.metric??'mse'});
  const ts=s.score(T).map(x=>x.score), trsc=s.score(X).map(x=>x.score);
  ts.forEach((v,i)=>tot[i]+=v/seeds.length); trsc.forEach((v,i)=>trs[i]+=v/seeds.length);
  console.error('seed',seed,'epochs',h.epochsRun,'best',h.bestEpoch,'auc',auc(ts,lab).toFixed(4));
  }
  const a=auc(tot,lab);
  const sorted=[...trs].sort((a,b)=>a-b); const q=p=>sorted[Math.min(sorted.length-1,Math.floor(p*sorted.length))];
  const mean=trs.reduce((a,b)=>a+b)/trs.length, sd=Math.sqrt(trs.reduce((a,b)=>a+(b-mean)**2,0)/trs.length);
  const acc=t=>tot.filter((v,i)=>(v>t)===lab[i]).length/tot.length;
  // best achievable accuracy
  const lg=trs.map(Math.log).sort((a,b)=>a-b); const med=lg[Math.floor(lg.length/2)]; const mad=[...lg.map(v=>Math.abs(v-med))].sort((a,b)=>a-b)[Math.floor(lg.length/2)]*1.4826; const rob=k=>Math.exp(med+k*mad);
  let best=0; for(const t of tot) best=Math.max(best,acc(t));
  console.log(JSON.stringify({cfg, auc:+a.toFixed(4), acc_p95:acc(q(0.95)), acc_p99:acc(q(0.99)), acc_max:acc(sorted[sorted.length-1]), acc_ms:acc(mean+sd), acc_m2s:acc(mean+2*sd), acc_m3s:acc(mean+3*sd), acc_p975:acc(q(0.975)), acc_rob2:acc(rob(2)), acc_rob3:acc(rob(3)), acc_rob4:acc(rob(4)), best_acc:best}));
})();
