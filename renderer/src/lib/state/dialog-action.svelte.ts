/** A dialog's one action (create, rename, relabel, delete): busy while it runs, its error in words. */
import { errorMessage } from '../errors';

export class DialogAction {
  busy = $state(false);
  /** The last failure, as a person reads it; '' when there is none. */
  error = $state('');

  /** Runs `work`; on success calls `done` (close the dialog), on failure keeps the error to show. */
  async run(work: () => Promise<unknown>, done: () => void): Promise<void> {
    this.busy = true;
    this.error = '';
    try {
      await work();
      done();
    } catch (caught) {
      this.error = errorMessage(caught, true);
    } finally {
      this.busy = false;
    }
  }
}
