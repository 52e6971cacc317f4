/** The application menu: standard roles plus our own entries. */
import { Menu, shell, type MenuItemConstructorOptions } from 'electron';

/** Installs the menu. */
export function setupMenu(): void {
  const isMac = process.platform === 'darwin';
  const template: MenuItemConstructorOptions[] = [
    ...(isMac ? [{ role: 'appMenu' as const }] : []),
    { role: 'fileMenu' },
    { role: 'editMenu' },
    { role: 'viewMenu' },
    { role: 'windowMenu' },
    {
      role: 'help',
      submenu: [
        {
          label: 'MAE paper (He et al., 2021)',
          click: () => void shell.openExternal('https://arxiv.org/abs/2111.06377'),
        },
      ],
    },
  ];
  Menu.setApplicationMenu(Menu.buildFromTemplate(template));
}
