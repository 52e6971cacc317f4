/**
 * The studio context: the typed client and the transport under it, created once in `main.ts`
 * and read by any component with `useStudio()`.
 */
import { getContext, setContext } from 'svelte';
import type { StudioClient } from '$contract';
import type { RendererTransport } from './transport';

/** What every component may reach: the client for calls and events, the transport for URLs. */
export interface Studio {
  client: StudioClient;
  transport: RendererTransport;
}

const KEY = Symbol('studio');

/** Provides the studio to the component tree; call once in the root component. */
export function setStudio(studio: Studio): Studio {
  return setContext(KEY, studio);
}

/** The studio provided by the root component. */
export function useStudio(): Studio {
  const studio = getContext<Studio | undefined>(KEY);
  if (!studio) throw new Error('useStudio() called outside the studio context');
  return studio;
}
