/** The app's place (project, tab, run) as reactive state kept in step with the address. */
import { getContext, setContext } from 'svelte';
import { formatPlace, parsePlace, samePlace, type Place } from '../route';

/** Reads the place from the address, writes each move to history, follows back/forward. */
export class RouteState {
  place = $state<Place>(parsePlace(location.hash));
  readonly dispose: () => void;

  constructor() {
    const onPop = () => (this.place = parsePlace(location.hash));
    window.addEventListener('popstate', onPop);
    this.dispose = () => window.removeEventListener('popstate', onPop);
  }

  /** Moves to a place (changing only what is given); `replace` rewrites the current entry instead. */
  go(change: Partial<Place>, replace = false): void {
    const next: Place = { ...this.place, ...change };
    if (next.tab !== 'training') next.run = null;
    if (samePlace(next, this.place) && location.hash === formatPlace(next)) return;
    this.place = next;
    const address = location.pathname + location.search + formatPlace(next);
    if (replace) history.replaceState(history.state, '', address);
    else history.pushState(history.state, '', address);
  }
}

const KEY = Symbol('route');

/** Provides the route state; call once in the root component. */
export function setRoute(state: RouteState): RouteState {
  return setContext(KEY, state);
}

/** The route state provided by the root component. */
export function useRoute(): RouteState {
  return getContext<RouteState>(KEY);
}
