// The token a server with an auth file asks for: an in-page dialog (not
// window.prompt, which a console cannot style or translate), shown again
// with the server's reason when a token is refused.
import { setToken, token } from "./api";
import { $ } from "./dom";
import { t } from "./i18n";

let asking: Promise<void> | null = null;

/** Asks once, however many calls were refused at the same time; `refused` is the server's reason. */
export function askToken(refused: string): Promise<void> {
  asking ??= new Promise<void>((resolve) => {
    const dialog = $<HTMLDialogElement>("token-dialog");
    const input = $<HTMLInputElement>("token-input");
    // Without a token yet, the refusal only says one is needed.
    $("token-why").textContent = token() === null ? t("token_prompt") : `${t("token_refused")}: ${refused}`;
    input.value = "";
    $<HTMLFormElement>("token-form").onsubmit = (e) => {
      e.preventDefault();
      if (!input.value.trim()) return;
      setToken(input.value);
      dialog.close();
      asking = null;
      resolve();
    };
    dialog.showModal();
    input.focus();
  });
  return asking;
}
