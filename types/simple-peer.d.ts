// @thaunknown/simple-peer ships no types; it keeps simple-peer's API, so its types fit.
// One difference: data arrives as Uint8Array (not Buffer), which Instance's `any` data allows.
declare module '@thaunknown/simple-peer' {
  import SimplePeer from 'simple-peer';
  export default SimplePeer;
}
declare module '@thaunknown/simple-peer/lite.js' {
  import SimplePeer from 'simple-peer';
  export default SimplePeer;
}
