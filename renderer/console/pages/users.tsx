// Users: pending approvals first, approve / disable / enable, and the role.
import { useEffect, useState } from 'preact/hooks';
import type { UserWire } from '../../../app/contract/index.ts';
import { api } from '../../api/client.ts';
import { when } from '../format.ts';

const ORDER = { pending: 0, active: 1, disabled: 2 } as const;

/** The Users page; `version` changes when the feed reports an account change. */
export function Users({ version, me }: { readonly version: number; readonly me: string }) {
  const [users, setUsers] = useState<readonly UserWire[]>([]);
  const [error, setError] = useState('');
  const [tick, setTick] = useState(0);
  useEffect(() => {
    api.users().then((r) => setUsers([...r.items].sort((a, b) => ORDER[a.status] - ORDER[b.status] || a.username.localeCompare(b.username))), (e: Error) => setError(e.message));
  }, [version, tick]);

  const act = (fn: () => Promise<unknown>) => async (): Promise<void> => {
    try {
      await fn();
      setError('');
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
    setTick((t) => t + 1);
  };

  return (
    <section>
      <h2>Users</h2>
      {error && <p class="error-message">{error}</p>}
      <table class="users">
        <thead><tr><th>User</th><th>Status</th><th>Role</th><th>Registered</th><th>Last login</th><th /></tr></thead>
        <tbody>
          {users.map((u) => (
            <tr class={`user ${u.status}`} data-username={u.username} key={u.id}>
              <td>{u.username}{u.username === me ? <span class="muted"> (you)</span> : null}</td>
              <td><span class={`status ${u.status}`}>{u.status}</span></td>
              <td>
                <select class="role" value={u.role} onChange={(e) => void act(() => api.setRole(u.id, e.currentTarget.value === 'admin' ? 'admin' : 'viewer'))()}>
                  <option value="viewer">viewer</option>
                  <option value="admin">admin</option>
                </select>
              </td>
              <td>{when(u.created_at)}</td>
              <td>{u.last_login_at ? when(u.last_login_at) : '–'}</td>
              <td class="row">
                {u.status === 'pending' && <button class="approve" onClick={act(() => api.approveUser(u.id))}>Approve</button>}
                {u.status === 'disabled' && <button class="enable" onClick={act(() => api.enableUser(u.id))}>Enable</button>}
                {u.status !== 'disabled' && <button class="disable danger" onClick={act(() => api.disableUser(u.id))}>Disable</button>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <p class="muted">Disabling a user ends their streams and frees their slots at once; so does <code>npm run users -- disable NAME</code>.</p>
    </section>
  );
}
