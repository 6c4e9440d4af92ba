export { ERR, isProxyError, sessionEnded, type ProxyError, type ProxyErrorType } from './catalog.js';
export { errorBody, metricReason, rawHttpError, sendProxyError, sseErrorEvent, wsCloseCode } from './render.js';
