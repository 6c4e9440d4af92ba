export { ERR, PROXY_ERROR_TYPES, isProxyError, sessionEnded, type ProxyError, type ProxyErrorType } from './catalog.js';
export { errorBody, metricReason, rawHttpError, sendProxyError, sseErrorEvent, wsCloseCode } from './render.js';
