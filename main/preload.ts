/**
 * Preload (sandboxed, context-isolated): exposes the contract bridge and nothing else.
 */
import { contextBridge, ipcRenderer, webUtils } from 'electron';
import { createBridge } from './bridge';

contextBridge.exposeInMainWorld(
  'studioBridge',
  createBridge(ipcRenderer, (file) => webUtils.getPathForFile(file as File)),
);
