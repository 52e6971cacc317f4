/**
 * Renderer entry: picks the transport (Electron bridge or serve mode's WebSocket), builds the
 * one typed client over it and mounts the app with both in context.
 */
import { mount } from 'svelte';
import { createClient } from '$contract';
import App from './app.svelte';
import { createRendererTransport } from './lib/transport';
import './app.css';

const transport = createRendererTransport();
const client = createClient(transport);
const target = document.getElementById('app');
if (!target) throw new Error('index.html lacks #app');

mount(App, { target, props: { studio: { client, transport } } });
