export { DEVICE_LOST, DeviceLostError } from './device-lost-error.js';
export type { WebGpuStorage } from './layout.js';
export { WebGpuIndices, type WebGpuLookup, type WebGpuMask, type WebGpuNativeTypes } from './native.js';
export { adapterName, createWebGpuBackend, type WebGpuBackendOptions } from './webgpu-backend.js';
